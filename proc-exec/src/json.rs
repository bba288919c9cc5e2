//! `Json<T>`: a value that crosses the pipe as JSON text (feature `json`).

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::ser::{Error as _, Serializer};
use serde::{Deserialize, Serialize};

/// A `T` that crosses the pipe as JSON text inside the postcard frame.
///
/// Postcard, the pool's encoding, is not self-describing: the worker must
/// know the exact shape of what it reads. Types whose serde implementation
/// asks the format what comes next, or writes a field only sometimes, do
/// not round-trip through it: `serde_json::Value`, structs with
/// `#[serde(skip_serializing_if = ...)]` or `#[serde(flatten)]`, untagged
/// and internally tagged enums. They fail at run time with
/// [`TaskError::ArgDecode`](crate::TaskError::ArgDecode) (an argument) or
/// [`TaskError::ResultDecode`](crate::TaskError::ResultDecode) (a result).
/// Wrapped in `Json`, they cross as JSON, which describes itself; the cost is
/// JSON's size and speed, so wrap only those values.
///
/// # Examples
///
/// ```
/// use proc_exec::{Json, ProcessPoolExecutor};
/// use serde_json::{Value, json};
///
/// fn name_of(doc: Json<Value>) -> Json<Value> {
///     Json(doc["name"].clone())
/// }
///
/// let pool = ProcessPoolExecutor::builder().max_workers(1).build().unwrap();
/// let doc = Json(json!({"name": "ada", "born": 1815}));
/// let name = pool.submit(name_of, doc).unwrap().into_result().unwrap();
/// assert_eq!(name.into_inner(), json!("ada"));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Self {
        Json(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Json<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Json").field(&self.0).finish()
    }
}

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(&self.0).map_err(S::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Borrowed when the format allows (postcard does), owned otherwise.
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        serde_json::from_str(&text)
            .map(Json)
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosses_as_a_postcard_string_of_json() {
        let encoded = postcard::to_allocvec(&Json(vec![1, 2])).unwrap();
        assert_eq!(encoded, postcard::to_allocvec("[1,2]").unwrap());
        let decoded: Json<Vec<u8>> = postcard::from_bytes(&encoded).unwrap();
        assert_eq!(decoded, Json(vec![1, 2]));
    }
}
