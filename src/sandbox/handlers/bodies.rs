//! Request bodies as HubSpot's clients send them. Property values and ids are read leniently, as HubSpot
//! does: strings as they are, numbers and booleans as their text, `null` as "clear".

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A JSON scalar as text (`None` for `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scalar(pub Option<String>);

impl Scalar {
    /// The text, `""` for `null`.
    pub fn text(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        let text = Text::deserialize(d)?;
        Ok(Scalar(text.0.map(Cow::into_owned)))
    }
}

/// A JSON scalar as text (`None` for `null`), borrowed from the body when it is a string that needs
/// no unescaping: a property value is checked and copied into its record, never kept as it came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

struct TextVisitor<'a>(PhantomData<Text<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text<'a>, D::Error> {
        d.deserialize_any(TextVisitor(PhantomData))
    }
}

/// A `properties` object, in the order sent (so "the first error" is well defined). Names and values
/// are borrowed from the body where they need no unescaping.
#[derive(Debug, Clone, Default)]
pub struct Props<'a>(pub Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>);

struct PropsVisitor<'a>(PhantomData<Props<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for PropsVisitor<'a> {
    type Value = Props<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of property values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Props<'a>, A::Error> {
        let mut props = Vec::with_capacity(map.size_hint().unwrap_or(8));
        // A JSON object's keys are strings: read as text, borrowed like the values.
        while let Some((name, value)) = map.next_entry::<Text<'a>, Text<'a>>()? {
            props.push((name.0.unwrap_or_default(), value.0));
        }
        Ok(Props(props))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Props<'a>, E> {
        Ok(Props::default())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Props<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Props<'a>, D::Error> {
        d.deserialize_any(PropsVisitor(PhantomData))
    }
}

/// `{"to":{"id"},"types":[{"associationCategory","associationTypeId"}]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationInput {
    pub to: Target,
    #[serde(default)]
    pub types: Vec<TypeInput>,
}

/// An association target.
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    pub id: Scalar,
}

/// An association type reference.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeInput {
    #[serde(default)]
    pub association_category: String,
    pub association_type_id: Scalar,
}

/// Single create, and each batch create input.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInput<'a> {
    #[serde(default, borrow)]
    pub properties: Props<'a>,
    #[serde(default)]
    pub associations: Vec<AssociationInput>,
    #[serde(default)]
    pub object_write_trace_id: Scalar,
}

/// Single update (PATCH).
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateBody<'a> {
    #[serde(default, borrow)]
    pub properties: Props<'a>,
}

/// Each batch update/upsert input.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInput<'a> {
    #[serde(default)]
    pub id: Scalar,
    #[serde(default)]
    pub id_property: Option<String>,
    #[serde(default, borrow)]
    pub properties: Props<'a>,
    #[serde(default)]
    pub object_write_trace_id: Scalar,
}

/// Each batch read/archive input.
#[derive(Debug, Clone, Deserialize)]
pub struct IdInput {
    #[serde(default)]
    pub id: Scalar,
}

/// A batch body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch<T> {
    pub inputs: Vec<T>,
    #[serde(default)]
    pub properties: Vec<String>,
    #[serde(default)]
    pub properties_with_history: Vec<String>,
    #[serde(default)]
    pub id_property: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_scalars_and_ordered_props() {
        let input: UpdateInput = serde_json::from_str(
            r#"{"id":42,"idProperty":"email","properties":{"b":"x","a":3,"c":true,"d":null,"e":1.5},"objectWriteTraceId":7}"#,
        )
        .unwrap();
        assert_eq!(input.id.text(), "42");
        assert_eq!(input.object_write_trace_id.text(), "7");
        let names: Vec<_> = input.properties.0.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["b", "a", "c", "d", "e"]);
        assert_eq!(input.properties.0[1].1.as_deref(), Some("3"));
        assert_eq!(input.properties.0[2].1.as_deref(), Some("true"));
        assert_eq!(input.properties.0[3].1, None);
    }

    #[test]
    fn plain_text_is_borrowed_and_escaped_text_unescaped() {
        let body =
            br#"{"properties":{"firstname":"Ada","last\u006eame":"Love\u006cace","age":36}}"#;
        let input: UpdateBody<'_> = serde_json::from_slice(body).unwrap();
        let [(plain, first), (escaped, last), (_, age)] = &input.properties.0[..] else {
            panic!("three properties expected: {:?}", input.properties);
        };
        assert!(matches!(plain, Cow::Borrowed("firstname")), "{plain:?}");
        assert!(matches!(first, Some(Cow::Borrowed("Ada"))), "{first:?}");
        assert!(
            matches!(escaped, Cow::Owned(name) if name == "lastname"),
            "{escaped:?}"
        );
        assert!(
            matches!(last, Some(Cow::Owned(v)) if v == "Lovelace"),
            "{last:?}"
        );
        assert_eq!(age.as_deref(), Some("36"));
    }
}
