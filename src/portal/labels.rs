//! Association labels: `GET …/associations/{from}/{to}/labels` lists the association types from one
//! object type to another (HubSpot's own, then the portal's). A `[[associations]]` table's `label` is
//! resolved to its type id here, once, before any row is sent; the request draws on the
//! associations API's own budget.

use serde::Deserialize;

use super::Portal;
use super::read::{SchemaError, get_links};

/// A label could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("cannot read the association labels: {0}")]
    Fetch(#[from] SchemaError),
    #[error(
        "no {category} association label {label:?} from {from} to {to}; the portal has: {available}"
    )]
    NotFound {
        from: String,
        to: String,
        label: String,
        category: String,
        available: String,
    },
}

/// One association type between two object types.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationType {
    pub category: String,
    pub type_id: u32,
    /// `None` for the unlabeled default of a pair.
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Deserialize)]
struct Labels {
    #[serde(default)]
    results: Vec<AssociationType>,
}

/// The association types from `from` to `to`.
pub async fn types(
    portal: &Portal,
    from: &str,
    to: &str,
) -> Result<Vec<AssociationType>, SchemaError> {
    let path = portal.paths().association_labels(from, to);
    let body = get_links(portal, &path).await?;
    let labels: Labels = serde_json::from_slice(&body).map_err(|e| SchemaError::Parse {
        url: portal.url(&path),
        reason: e.to_string(),
    })?;
    Ok(labels.results)
}

/// The type id of the `category` label named `label` (compared without regard to case) from `from`
/// to `to`.
pub async fn resolve(
    portal: &Portal,
    from: &str,
    to: &str,
    label: &str,
    category: &str,
) -> Result<u32, LabelError> {
    let types = types(portal, from, to).await?;
    find(&types, label, category).ok_or_else(|| LabelError::NotFound {
        from: from.to_string(),
        to: to.to_string(),
        label: label.to_string(),
        category: category.to_string(),
        available: listing(&types),
    })
}

/// The type id of a label among `types`.
fn find(types: &[AssociationType], label: &str, category: &str) -> Option<u32> {
    types
        .iter()
        .find(|t| {
            t.category == category
                && t.label
                    .as_deref()
                    .is_some_and(|l| l.trim().eq_ignore_ascii_case(label.trim()))
        })
        .map(|t| t.type_id)
}

/// `"Primary" (HUBSPOT_DEFINED 1), "Manager" (USER_DEFINED 1000)`, or `no labels`.
fn listing(types: &[AssociationType]) -> String {
    let labelled: Vec<String> = types
        .iter()
        .filter_map(|t| {
            let label = t.label.as_ref()?;
            Some(format!("{label:?} ({} {})", t.category, t.type_id))
        })
        .collect();
    if labelled.is_empty() {
        "no labels".to_string()
    } else {
        labelled.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_found_by_name_and_category() {
        let labels: Labels = serde_json::from_str(
            r#"{"results":[{"category":"HUBSPOT_DEFINED","typeId":279,"label":null},
                {"category":"HUBSPOT_DEFINED","typeId":1,"label":"Primary"},
                {"category":"USER_DEFINED","typeId":1000,"label":"Decision maker"}]}"#,
        )
        .unwrap();
        let types = labels.results;
        assert_eq!(find(&types, "decision MAKER", "USER_DEFINED"), Some(1000));
        assert_eq!(find(&types, "Primary", "HUBSPOT_DEFINED"), Some(1));
        assert_eq!(find(&types, "Primary", "USER_DEFINED"), None);
        assert_eq!(
            listing(&types),
            "\"Primary\" (HUBSPOT_DEFINED 1), \"Decision maker\" (USER_DEFINED 1000)"
        );
    }
}
