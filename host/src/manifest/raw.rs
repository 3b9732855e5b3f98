//! The serde shape of a manifest file, before semantic checks.
//!
//! Every struct denies unknown fields so a typo is refused rather than ignored. Values that
//! `parse` checks further are kept [`Spanned`] so its errors can point at them.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::model::{ParamType, Rights};

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawManifest {
    pub(crate) id: Spanned<String>,
    #[serde(rename = "type")]
    pub(crate) kind: Spanned<String>,
    pub(crate) label: Spanned<String>,
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) library: Spanned<String>,
    #[serde(default)]
    pub(crate) enabled: bool,
    /// Accepted for the plugin author's bookkeeping; the host does not use it.
    #[serde(default, rename = "version")]
    pub(crate) _version: Option<String>,
    #[serde(default)]
    pub(crate) params: Vec<Spanned<RawParam>>,
    #[serde(default)]
    pub(crate) actions: Vec<Spanned<RawAction>>,
}

/// One `[[params]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParam {
    pub(crate) name: Spanned<String>,
    #[serde(rename = "type")]
    pub(crate) kind: ParamType,
    pub(crate) label: Option<String>,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) mandatory: bool,
    pub(crate) default: Option<Spanned<DefaultText>>,
    pub(crate) choices: Option<Spanned<RawChoices>>,
    pub(crate) group: Option<String>,
    #[serde(default)]
    pub(crate) advanced: bool,
    #[serde(default)]
    pub(crate) aliases: Vec<Spanned<String>>,
    pub(crate) pattern: Option<Spanned<String>>,
    pub(crate) min: Option<Spanned<i64>>,
    pub(crate) max: Option<Spanned<i64>>,
}

/// One `[[actions]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAction {
    pub(crate) name: Spanned<String>,
    pub(crate) rights: Rights,
    #[serde(default = "yes")]
    pub(crate) csrf: bool,
    pub(crate) methods: Option<Spanned<RawMethods>>,
    #[serde(default)]
    pub(crate) description: String,
}

/// `methods`: an array of method names, checked by `parse`.
pub(crate) struct RawMethods(pub(crate) Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for RawMethods {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMethods;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of HTTP methods, e.g. [\"POST\"] or [\"GET\", \"POST\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawMethods, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawMethods(items))
            }
        }
        d.deserialize_seq(V)
    }
}

fn yes() -> bool {
    true
}

/// A default written as a TOML string, integer or boolean, kept as text.
pub(crate) struct DefaultText(pub(crate) String);

impl<'de> Deserialize<'de> for DefaultText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DefaultText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, integer or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DefaultText, E> {
                Ok(DefaultText(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DefaultText, E> {
                Ok(DefaultText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DefaultText, E> {
                Ok(DefaultText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<DefaultText, E> {
                Ok(DefaultText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `choices`: `{ value, label }` tables, or Pydio's `"r|Read Only,rw|Read and Write"`.
pub(crate) enum RawChoices {
    Pydio(String),
    Tables(Vec<RawChoice>),
}

/// One `{ value, label }` choice; the label defaults to the value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChoice {
    pub(crate) value: String,
    pub(crate) label: Option<String>,
}

impl<'de> Deserialize<'de> for RawChoices {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawChoices;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an array of { value, label } tables or a string like \"r|Read Only,rw|Read and Write\"",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawChoices, E> {
                Ok(RawChoices::Pydio(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawChoices, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawChoices::Tables(items))
            }
        }
        d.deserialize_any(V)
    }
}
