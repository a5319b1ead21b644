//! `[[associations]]`: which records each row's record is linked with, named by the source's own keys.
//! The raw table, its validated [`AssociationSpec`], and the checks that need the whole pipeline
//! (the operation, the other pipeline's identity map).
//!
//! A table names the other records with a column (`column`, or the `to_id_column` shorthand for
//! record ids) whose values are record ids, values of a unique property of `to_object`
//! (`to_property`), or keys of another pipeline's `[sync]` state (`from_pipeline`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, Operation, Pipeline};

/// One `[[associations]]` table, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationSpec {
    /// The other records' type (name or objectTypeId). `None` only for record ids with a `type_id`
    /// on create, where HubSpot infers it (today's `to_id_column` shorthand).
    pub to_object: Option<String>,
    /// The column naming the other record(s).
    pub column: String,
    /// Several keys in one cell, split on this separator (empty parts are skipped).
    pub split: Option<String>,
    /// How the column's values identify the other record.
    pub key: TargetKey,
    /// The association type; `None` only for `dissociate`, which then removes every type between
    /// the two records.
    pub kind: Option<AssociationType>,
    /// `HUBSPOT_DEFINED` or `USER_DEFINED`.
    pub category: String,
}

/// How a column's values name records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKey {
    /// HubSpot record ids (`to_property = "hs_object_id"`, the default): no lookup.
    RecordId,
    /// Values of this unique property of the other object, looked up in the portal.
    Property(String),
    /// Keys of another pipeline's `[sync]` state, read locally.
    Pipeline(IdentityMap),
}

/// The association type of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssociationType {
    Id(u32),
    /// A label, resolved to its type id through the v4 labels API when the run starts.
    Label(String),
}

/// Another pipeline's identity map: its `[sync]` state, key → record id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityMap {
    /// The other pipeline file.
    pub pipeline: PathBuf,
    /// Its state file.
    pub state: PathBuf,
    /// The object type it loads.
    pub object: String,
    /// Its keys are its ids (`id_property` values or `id_column`), stored lower-cased; otherwise one
    /// source column, stored as written (trimmed).
    pub lowercase: bool,
}

impl IdentityMap {
    /// The state's key for a value of the column naming the other record.
    pub fn key_of(&self, value: &str) -> String {
        if self.lowercase {
            value.trim().to_lowercase()
        } else {
            value.trim().to_string()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAssociation {
    to_object: Option<String>,
    column: Option<String>,
    to_id_column: Option<String>,
    split: Option<String>,
    to_property: Option<String>,
    from_pipeline: Option<PathBuf>,
    type_id: Option<u32>,
    label: Option<String>,
    category: Option<String>,
}

/// An identity map read later (when the pipeline loads): only the other pipeline's path is known.
pub(super) fn unread_map(pipeline: PathBuf) -> IdentityMap {
    IdentityMap {
        pipeline,
        state: PathBuf::new(),
        object: String::new(),
        lowercase: false,
    }
}

impl RawAssociation {
    /// Validates the table on its own; `dir` is the pipeline file's folder. What needs the rest of
    /// the pipeline is [`check`].
    pub(super) fn validate(
        self,
        err: &dyn Fn(&str, String) -> ConfigError,
        dir: &Path,
    ) -> Result<AssociationSpec, ConfigError> {
        let nonempty = |key: &str, value: Option<String>| match value {
            Some(v) if v.trim().is_empty() => Err(err(
                &format!("associations.{key}"),
                "must not be empty".into(),
            )),
            other => Ok(other),
        };
        let to_object = nonempty("to_object", self.to_object)?.map(|o| o.trim().to_string());
        let shorthand = nonempty("to_id_column", self.to_id_column)?;
        let column = match (nonempty("column", self.column)?, &shorthand) {
            (Some(column), None) => column,
            (None, Some(column)) => column.clone(),
            (Some(_), Some(_)) => {
                return Err(err(
                    "associations.to_id_column",
                    "is the shorthand for `column` with record ids: give one of them".into(),
                ));
            }
            (None, None) => {
                return Err(err(
                    "associations.column",
                    "missing: name the column that holds the other record's key".into(),
                ));
            }
        };
        if let Some(split) = &self.split
            && split.is_empty()
        {
            return Err(err("associations.split", "must not be empty".into()));
        }
        let to_property = nonempty("to_property", self.to_property)?;
        let key = match (to_property, self.from_pipeline) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "associations.from_pipeline",
                    "give either to_property (a lookup in the portal) or from_pipeline (another \
                     pipeline's state), not both"
                        .into(),
                ));
            }
            (Some(p), None) if p == "hs_object_id" => TargetKey::RecordId,
            (Some(p), None) => TargetKey::Property(p),
            (None, Some(file)) => TargetKey::Pipeline(unread_map(dir.join(file))),
            (None, None) => TargetKey::RecordId,
        };
        if shorthand.is_some() && key != TargetKey::RecordId {
            return Err(err(
                "associations.to_id_column",
                "holds record ids: with to_property or from_pipeline name the column with `column`"
                    .into(),
            ));
        }
        let kind = match (self.type_id, nonempty("label", self.label)?) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "associations.label",
                    "give either type_id or label, not both".into(),
                ));
            }
            (Some(id), None) => Some(AssociationType::Id(id)),
            (None, Some(label)) => Some(AssociationType::Label(label)),
            (None, None) => None,
        };
        let default_category = match kind {
            Some(AssociationType::Label(_)) => "USER_DEFINED",
            _ => "HUBSPOT_DEFINED",
        };
        let category = self
            .category
            .unwrap_or_else(|| default_category.to_string());
        if !matches!(category.as_str(), "HUBSPOT_DEFINED" | "USER_DEFINED") {
            return Err(err(
                "associations.category",
                format!("{category:?}: expected \"HUBSPOT_DEFINED\" or \"USER_DEFINED\""),
            ));
        }
        Ok(AssociationSpec {
            to_object,
            column,
            split: self.split,
            key,
            kind,
            category,
        })
    }
}

/// The checks that need the whole pipeline: which operations take associations, and what each
/// table needs for its operation. Runs once the identity maps are read (they give `to_object` a
/// default).
pub(super) fn check(pipeline: &Pipeline) -> Result<(), ConfigError> {
    let err = |key: &str, message: String| ConfigError::Invalid {
        file: pipeline.file.clone(),
        key: key.to_string(),
        message,
    };
    let op = pipeline.target.operation;
    let links_only = matches!(op, Operation::Associate | Operation::Dissociate);
    if op == Operation::Archive && !pipeline.associations.is_empty() {
        return Err(err(
            "associations",
            "archive takes no [[associations]] (archiving a record removes its links)".into(),
        ));
    }
    if links_only && pipeline.sync.is_some() {
        return Err(err(
            "sync",
            format!("{op} writes links, which keep no [sync] state: remove the [sync] table"),
        ));
    }
    if links_only && pipeline.associations.is_empty() {
        return Err(err(
            "associations",
            format!("{op} needs at least one [[associations]] table naming the other records"),
        ));
    }
    for spec in &pipeline.associations {
        let needs_object = match (&spec.key, &spec.kind) {
            (TargetKey::Property(_), _) => Some("to_property looks the key up on it"),
            (_, Some(AssociationType::Label(_))) => Some("a label is defined per pair of types"),
            _ if op != Operation::Create => {
                Some("the links are written with the v4 associations API, per pair of types")
            }
            _ => None,
        };
        if let (None, Some(why)) = (&spec.to_object, needs_object) {
            return Err(err(
                "associations.to_object",
                format!("missing for column {:?}: {why}", spec.column),
            ));
        }
        if spec.kind.is_none() && op != Operation::Dissociate {
            return Err(err(
                "associations.type_id",
                format!(
                    "missing for column {:?}: give type_id (e.g. 279 contact → company) or label",
                    spec.column
                ),
            ));
        }
    }
    if pipeline.target.from_pipeline.is_some() {
        if !links_only {
            return Err(err(
                "target.from_pipeline",
                "names the records to link by another pipeline's state: only with operation = \
                 \"associate\" or \"dissociate\""
                    .into(),
            ));
        }
        if pipeline.target.id_property.is_some() {
            return Err(err(
                "target.from_pipeline",
                "give either id_property (a lookup in the portal) or from_pipeline, not both"
                    .into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Operation, parse};

    const BASE: &str =
        "[source]\npath = \"c.csv\"\n[target]\nobject = \"contacts\"\nbase_url = \"sandbox\"\n";

    fn pipeline(dir: &Path, target: &str, rest: &str) -> Result<Pipeline, String> {
        parse(&dir.join("p.toml"), &format!("{BASE}{target}\n{rest}")).map_err(|e| e.to_string())
    }

    #[test]
    fn every_way_of_naming_the_other_record() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("companies.toml"),
            "[source]\npath = \"co.csv\"\n[target]\nobject = \"companies\"\noperation = \"upsert\"\nid_property = \"external_id\"\nbase_url = \"sandbox\"\n[mapping]\nexternal_id = \"Account Id\"\n[sync]\n",
        )
        .unwrap();
        let upsert =
            "operation = \"upsert\"\nid_property = \"email\"\n[mapping]\nemail = \"Email\"";
        let p = pipeline(
            dir.path(),
            upsert,
            "[[associations]]\ncolumn = \"Account Id\"\nfrom_pipeline = \"companies.toml\"\ntype_id = 279\n\
             [[associations]]\nto_object = \"companies\"\ncolumn = \"Domains\"\nsplit = \";\"\nto_property = \"domain\"\nlabel = \"Decision maker\"\n\
             [[associations]]\nto_object = \"deals\"\ncolumn = \"Deal\"\nto_property = \"hs_object_id\"\ntype_id = 4\n",
        )
        .unwrap();
        let [by_map, by_property, by_id] = &p.associations[..] else {
            panic!("three tables")
        };
        let TargetKey::Pipeline(map) = &by_map.key else {
            panic!("{by_map:?}")
        };
        assert_eq!(map.object, "companies");
        assert_eq!(map.state, dir.path().join("companies.state"));
        assert!(map.lowercase, "keyed by its id: lower-cased");
        assert_eq!(
            by_map.to_object.as_deref(),
            Some("companies"),
            "the map's object"
        );
        assert_eq!(by_property.key, TargetKey::Property("domain".into()));
        assert_eq!(
            by_property.kind,
            Some(AssociationType::Label("Decision maker".into()))
        );
        assert_eq!(by_property.category, "USER_DEFINED");
        assert_eq!(by_property.split.as_deref(), Some(";"));
        assert_eq!(by_id.key, TargetKey::RecordId);
        assert_eq!(by_id.category, "HUBSPOT_DEFINED");

        let e = pipeline(
            dir.path(),
            upsert,
            "[[associations]]\ncolumn = \"X\"\nfrom_pipeline = \"missing.toml\"\ntype_id = 1\n",
        )
        .unwrap_err();
        assert!(
            e.contains("associations.from_pipeline") && e.contains("missing.toml"),
            "{e}"
        );
        let e = pipeline(
            dir.path(),
            upsert,
            "[[associations]]\nto_object = \"companies\"\ncolumn = \"X\"\n",
        )
        .unwrap_err();
        assert!(e.contains("associations.type_id"), "{e}");
        let e = pipeline(
            dir.path(),
            upsert,
            "[[associations]]\nto_object = \"companies\"\nto_id_column = \"X\"\nto_property = \"domain\"\ntype_id = 1\n",
        )
        .unwrap_err();
        assert!(e.contains("associations.to_id_column"), "{e}");
    }

    #[test]
    fn link_operations() {
        let dir = tempfile::tempdir().unwrap();
        let table =
            "[[associations]]\nto_object = \"companies\"\ncolumn = \"Company Id\"\ntype_id = 279\n";
        let p = pipeline(
            dir.path(),
            "operation = \"associate\"\nid_column = \"Contact Id\"",
            table,
        )
        .unwrap();
        assert_eq!(p.target.operation, Operation::Associate);
        let untyped = "[[associations]]\nto_object = \"companies\"\ncolumn = \"Company Id\"\n";
        assert!(
            pipeline(
                dir.path(),
                "operation = \"dissociate\"\nid_column = \"C\"",
                untyped
            )
            .is_ok()
        );
        let e = pipeline(
            dir.path(),
            "operation = \"associate\"\nid_column = \"C\"",
            untyped,
        )
        .unwrap_err();
        assert!(e.contains("type_id"), "{e}");
        let e = pipeline(dir.path(), "operation = \"associate\"", table).unwrap_err();
        assert!(e.contains("needs id_column"), "{e}");
        let e = pipeline(
            dir.path(),
            "operation = \"associate\"\nid_column = \"C\"",
            "",
        )
        .unwrap_err();
        assert!(e.contains("at least one [[associations]]"), "{e}");
        let e = pipeline(
            dir.path(),
            "operation = \"associate\"\nid_column = \"C\"\n[mapping]\nemail = \"E\"",
            table,
        )
        .unwrap_err();
        assert!(e.contains("[mapping] must be empty"), "{e}");
        let e = pipeline(
            dir.path(),
            "operation = \"upsert\"\nid_property = \"email\"\nfrom_pipeline = \"x.toml\"\n[mapping]\nemail = \"E\"",
            "",
        )
        .unwrap_err();
        assert!(e.contains("from_pipeline"), "{e}");
    }

    #[test]
    fn identity_map_keys_follow_the_other_pipeline() {
        let mut map = unread_map(PathBuf::from("companies.toml"));
        assert_eq!(map.key_of(" ACC-1 "), "ACC-1");
        map.lowercase = true;
        assert_eq!(map.key_of(" Ann@X.io "), "ann@x.io");
    }
}
