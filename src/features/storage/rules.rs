//! Storage rules: what may be stored, versions, and Nakama's permissions.

use md5::{Digest, Md5};
use serde_json::Value;

use super::model::{Actor, ObjectWrite, StoredObject};
use super::ObjectError;
use crate::features::profiles::rules::check_text;

pub const MAX_NAME_CHARS: usize = 128;

fn invalid(m: impl Into<String>) -> ObjectError {
    ObjectError::Invalid(m.into())
}

/// MD5 hex of a stored value, as Nakama versions objects.
pub fn version_of(value: &str) -> String {
    let digest = Md5::digest(value.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn check_name(field: &str, v: &str) -> Result<(), ObjectError> {
    if v.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    check_text(field, v, MAX_NAME_CHARS).map_err(|e| invalid(e.to_string()))
}

/// The stored text of a value: it must be a JSON object of at most `max_bytes`.
pub fn normalize(value: &Value, max_bytes: usize) -> Result<String, ObjectError> {
    if !value.is_object() {
        return Err(invalid("value must be a JSON object"));
    }
    let text = value.to_string();
    if text.len() > max_bytes {
        return Err(invalid(format!(
            "value must be at most {max_bytes} bytes of JSON, not {}",
            text.len()
        )));
    }
    Ok(text)
}

/// Parses JSON text sent as a value (Nakama sends the value as a string).
pub fn parse_value(text: &str, max_bytes: usize) -> Result<String, ObjectError> {
    if text.len() > max_bytes {
        return Err(invalid(format!(
            "value must be at most {max_bytes} bytes of JSON, not {}",
            text.len()
        )));
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("value is not valid JSON: {e}")))?;
    normalize(&v, max_bytes)
}

pub fn check_write(w: &ObjectWrite) -> Result<(), ObjectError> {
    check_name("collection", &w.collection)?;
    check_name("key", &w.key)?;
    if let Some(r) = w.permission_read {
        if r > 2 {
            return Err(invalid(format!(
                "permission_read must be 0, 1 or 2, not {r}"
            )));
        }
    }
    if let Some(p) = w.permission_write {
        if p > 1 {
            return Err(invalid(format!("permission_write must be 0 or 1, not {p}")));
        }
    }
    if let Some(v) = &w.version {
        check_text("version", v, 64).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(())
}

/// Whether a stored object may be replaced by `w` from `actor`.
pub fn may_write(
    held: Option<&StoredObject>,
    w: &ObjectWrite,
    actor: Actor,
) -> Result<(), ObjectError> {
    if let (Some(o), Actor::Player(_)) = (held, actor) {
        if o.permission_write == 0 {
            return Err(ObjectError::WritePermission);
        }
    }
    check_version(held, w.version.as_deref(), ObjectError::WriteVersion)
}

/// Version rule shared by writes and deletes: `*` means "must not exist", another
/// non-empty version must equal the stored one.
pub fn check_version(
    held: Option<&StoredObject>,
    version: Option<&str>,
    refused: ObjectError,
) -> Result<(), ObjectError> {
    match (version, held) {
        (None | Some(""), _) => Ok(()),
        (Some("*"), None) => Ok(()),
        (Some("*"), Some(_)) => Err(refused),
        (Some(v), Some(o)) if o.version == v => Ok(()),
        _ => Err(refused),
    }
}

/// Whether `actor` may read `o`.
pub fn may_read(o: &StoredObject, actor: Actor) -> bool {
    match actor {
        Actor::Server => true,
        Actor::Player(u) if u == o.user_id => o.permission_read >= 1,
        Actor::Player(_) => o.permission_read == 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn obj(owner: Uuid, read: u8, write: u8) -> StoredObject {
        StoredObject {
            collection: "saves".into(),
            key: "slot1".into(),
            user_id: owner,
            value: "{}".into(),
            version: version_of("{}"),
            permission_read: read,
            permission_write: write,
            create_time: 0,
            update_time: 0,
        }
    }

    fn write(version: Option<&str>) -> ObjectWrite {
        ObjectWrite {
            collection: "saves".into(),
            key: "slot1".into(),
            value: "{}".into(),
            version: version.map(str::to_string),
            permission_read: None,
            permission_write: None,
        }
    }

    #[test]
    fn the_version_is_the_md5_of_the_value() {
        assert_eq!(version_of(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(version_of("{}"), "99914b932bd37a50b983c5e7c90ae93b");
    }

    #[test]
    fn versions_guard_writes() {
        let me = Uuid::new_v4();
        let o = obj(me, 1, 1);
        let p = Actor::Player(me);
        assert!(may_write(None, &write(Some("*")), p).is_ok());
        assert!(matches!(
            may_write(Some(&o), &write(Some("*")), p),
            Err(ObjectError::WriteVersion)
        ));
        assert!(may_write(Some(&o), &write(Some(&o.version.clone())), p).is_ok());
        assert!(matches!(
            may_write(Some(&o), &write(Some("0123")), p),
            Err(ObjectError::WriteVersion)
        ));
        assert!(matches!(
            may_write(None, &write(Some("0123")), p),
            Err(ObjectError::WriteVersion)
        ));
        assert!(may_write(Some(&o), &write(None), p).is_ok());
    }

    #[test]
    fn permissions_follow_nakama() {
        let me = Uuid::new_v4();
        let other = Actor::Player(Uuid::new_v4());
        assert!(!may_read(&obj(me, 0, 1), Actor::Player(me)));
        assert!(may_read(&obj(me, 0, 1), Actor::Server));
        assert!(may_read(&obj(me, 1, 1), Actor::Player(me)));
        assert!(!may_read(&obj(me, 1, 1), other));
        assert!(may_read(&obj(me, 2, 1), other));
        assert!(matches!(
            may_write(Some(&obj(me, 1, 0)), &write(None), Actor::Player(me)),
            Err(ObjectError::WritePermission)
        ));
        assert!(may_write(Some(&obj(me, 1, 0)), &write(None), Actor::Server).is_ok());
    }

    #[test]
    fn values_are_json_objects_within_the_size() {
        assert!(parse_value("[1]", 100)
            .unwrap_err()
            .to_string()
            .contains("object"));
        assert!(parse_value("{", 100)
            .unwrap_err()
            .to_string()
            .contains("JSON"));
        assert_eq!(
            parse_value("{ \"b\":1, \"a\":2 }", 100).unwrap(),
            r#"{"a":2,"b":1}"#
        );
        assert!(parse_value(&format!("{{\"a\":\"{}\"}}", "x".repeat(200)), 100).is_err());
    }
}
