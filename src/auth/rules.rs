//! Validation of what players send at authentication and account update.

use super::AuthError;

fn invalid(msg: impl Into<String>) -> AuthError {
    AuthError::InvalidArgument(msg.into())
}

pub fn device_id(id: &str) -> Result<(), AuthError> {
    if id.len() < 10 || id.len() > 128 {
        return Err(invalid("Device ID invalid, must be 10-128 bytes."));
    }
    Ok(())
}

pub fn custom_id(id: &str) -> Result<(), AuthError> {
    if id.len() < 6 || id.len() > 128 {
        return Err(invalid("Custom ID invalid, must be 6-128 bytes."));
    }
    Ok(())
}

pub fn email(email: &str) -> Result<(), AuthError> {
    let ok = email.len() >= 3 && email.len() <= 255 && {
        let mut parts = email.splitn(2, '@');
        let local = parts.next().unwrap_or("");
        let domain = parts.next().unwrap_or("");
        !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if ok {
        Ok(())
    } else {
        Err(invalid("Invalid email address format."))
    }
}

pub fn password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < 8 {
        return Err(invalid("Password must be at least 8 characters long."));
    }
    if password.len() > 1024 {
        return Err(invalid("Password must be at most 1024 bytes."));
    }
    Ok(())
}

pub fn username(name: &str) -> Result<(), AuthError> {
    if name.is_empty() || name.len() > 128 {
        return Err(invalid("Username invalid, must be 1-128 bytes."));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\0')
    {
        return Err(invalid(
            "Username invalid, no spaces or control characters allowed.",
        ));
    }
    // An `@` would let a username pass for someone's email where operators look accounts
    // up by either.
    if name.contains('@') {
        return Err(invalid("Username invalid, `@` is not allowed."));
    }
    Ok(())
}

/// A field of free text with a length cap (display name, avatar URL, …).
pub fn text(field: &str, value: &str, max: usize) -> Result<(), AuthError> {
    if value.len() > max {
        return Err(invalid(format!("{field} must be at most {max} bytes")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

pub fn metadata(value: &str) -> Result<(), AuthError> {
    if value.len() > 16 * 1024 {
        return Err(invalid("metadata must be at most 16384 bytes"));
    }
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(invalid("metadata must be a JSON object")),
    }
}

/// A username for accounts created without one: ten lowercase letters.
pub fn generated_username() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..10)
        .map(|_| rng.gen_range(b'a'..=b'z') as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_have_their_lengths() {
        assert!(device_id("short").is_err());
        assert!(device_id("0123456789").is_ok());
        assert!(device_id(&"x".repeat(129)).is_err());
        assert!(custom_id("12345").is_err());
        assert!(custom_id("123456").is_ok());
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
    }

    #[test]
    fn emails_need_an_address_shape() {
        assert!(email("ada@example.com").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@.com",
            "a@b@c",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_refuse_spaces() {
        assert!(username("ada lovelace").is_err());
        assert!(username("ada_lovelace").is_ok());
        assert_eq!(generated_username().len(), 10);
    }
}
