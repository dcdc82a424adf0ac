//! A slice on the wire: a JSON object of dimension → value, decoded without
//! copying strings where the input allows it (the batch hot path).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// A string that borrows from the frame when it can and owns itself when the
/// JSON had escapes. (`Cow<str>`'s own `Deserialize` always allocates.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CowStr<'a>(pub Cow<'a, str>);

impl CowStr<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_owned(self) -> CowStr<'static> {
        CowStr(Cow::Owned(self.0.into_owned()))
    }
}

impl<'a> From<&'a str> for CowStr<'a> {
    fn from(s: &'a str) -> Self {
        CowStr(Cow::Borrowed(s))
    }
}

impl From<String> for CowStr<'static> {
    fn from(s: String) -> Self {
        CowStr(Cow::Owned(s))
    }
}

impl fmt::Display for CowStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for CowStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// dimension → value pairs in the order they arrived. A `Vec` rather than a
/// map: slices have a handful of dimensions, and a linear scan beats hashing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SliceMap<'a>(pub Vec<(CowStr<'a>, CowStr<'a>)>);

impl SliceMap<'_> {
    pub fn new() -> Self {
        SliceMap(Vec::new())
    }
    /// Builds a slice from (dimension, value) pairs.
    pub fn from_pairs<I, K, V>(pairs: I) -> SliceMap<'static>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        SliceMap(
            pairs
                .into_iter()
                .map(|(k, v)| (CowStr::from(k.into()), CowStr::from(v.into())))
                .collect(),
        )
    }
    pub fn get(&self, dim: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == dim)
            .map(|(_, v)| v.as_str())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_owned(self) -> SliceMap<'static> {
        SliceMap(
            self.0
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
}

impl Serialize for SliceMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for SliceMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SliceMap<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of dimension to string value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(4).min(16));
                while let Some((k, v)) = map.next_entry::<CowStr<'de>, CowStr<'de>>()? {
                    if pairs.iter().any(|(seen, _): &(CowStr, CowStr)| seen == &k) {
                        return Err(de::Error::custom(format!(
                            "dimension {:?} given twice",
                            k.as_str()
                        )));
                    }
                    pairs.push((k, v));
                }
                Ok(SliceMap(pairs))
            }
        }
        d.deserialize_map(V)
    }
}
