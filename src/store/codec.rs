//! Stored values are MessagePack with named fields, so a field can be added later with
//! `#[serde(default)]` and old records still decode.

use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(value).map_err(|e| StoreError::Codec(e.to_string()))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Codec(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V1 {
        name: String,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V2 {
        name: String,
        #[serde(default)]
        level: u32,
    }

    #[test]
    fn a_field_added_later_decodes_old_records() {
        let old = super::encode(&V1 { name: "ada".into() }).unwrap();
        let new: V2 = super::decode(&old).unwrap();
        assert_eq!(
            new,
            V2 {
                name: "ada".into(),
                level: 0
            }
        );
    }
}
