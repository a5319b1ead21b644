//! Migration plans: a TOML file of `[[properties]]` (custom properties the stages need, ensured
//! before any stage) and `[[stage]]`s (pipeline files, run in order; `parallel = true` runs a stage
//! alongside the one before it). Raw shape, checks, and the validated [`Plan`].
//!
//! A file is a plan when its tables say so: `[[stage]]` (or `[[properties]]`) and no
//! `[source]`/`[target]`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::association::TargetKey;
use super::{ConfigError, Overrides, Pipeline};

/// A validated migration plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The plan file (errors name it).
    pub file: PathBuf,
    /// Properties ensured before any stage runs.
    pub properties: Vec<PropertySpec>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// Where the plan records which stages of the current run started and finished (`--resume`).
    pub progress: PathBuf,
}

/// One stage: a pipeline, and whether it runs alongside the stage before it.
#[derive(Debug, Clone)]
pub struct Stage {
    pub pipeline: Pipeline,
    pub parallel: bool,
}

/// A custom property the plan makes sure exists (never modified or deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertySpec {
    pub object: String,
    pub name: String,
    pub label: String,
    /// HubSpot's `type`: `string`, `number`, `date`, `datetime`, `bool`, `enumeration`,
    /// `phone_number`.
    pub kind: String,
    /// HubSpot's `fieldType` (default by type: text, number, date, booleancheckbox, select,
    /// phonenumber).
    pub field_type: String,
    /// `hasUniqueValue`: usable as `id_property` and `to_property`.
    pub unique: bool,
    /// `groupName` (default: the object's information group, e.g. `companyinformation`).
    pub group: String,
    pub description: Option<String>,
    /// Enumeration options: (label, value).
    pub options: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    properties: Vec<RawProperty>,
    #[serde(default)]
    stage: Vec<RawStage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    pipeline: PathBuf,
    #[serde(default)]
    parallel: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProperty {
    object: String,
    name: String,
    label: String,
    #[serde(rename = "type")]
    kind: String,
    field_type: Option<String>,
    #[serde(default)]
    unique: bool,
    group: Option<String>,
    description: Option<String>,
    #[serde(default)]
    options: Vec<RawOption>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    label: String,
    value: String,
}

/// Whether `text` (a TOML file) is a plan rather than a pipeline: it has `[[stage]]` or
/// `[[properties]]`, and no `[source]` or `[target]`. Text that is not TOML is no plan (the
/// pipeline loader then says what is wrong with it).
pub fn is_plan(text: &str) -> bool {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return false;
    };
    let has = |key: &str| table.contains_key(key);
    (has("stage") || has("properties")) && !has("source") && !has("target")
}

/// Whether the file at `path` is a plan (an unreadable file is not: the pipeline loader then says
/// why it cannot be read).
pub fn names_a_plan(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| is_plan(&text))
}

/// Reads and validates a plan file; every stage's pipeline is loaded with `overrides` (which apply
/// to every stage).
pub fn load(path: &Path, overrides: &Overrides) -> Result<Plan, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let raw: RawPlan = toml::from_str(&text).map_err(|err| ConfigError::Parse {
        file: path.to_path_buf(),
        message: err.to_string().trim_end().to_string(),
    })?;
    let err = |key: &str, message: String| ConfigError::Invalid {
        file: path.to_path_buf(),
        key: key.to_string(),
        message,
    };
    if raw.stage.is_empty() {
        return Err(err(
            "stage",
            "a plan needs at least one [[stage]] with its pipeline file".into(),
        ));
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    let properties = raw
        .properties
        .into_iter()
        .map(|p| p.validate(&err))
        .collect::<Result<Vec<_>, _>>()?;
    let mut stages: Vec<Stage> = Vec::with_capacity(raw.stage.len());
    for (i, stage) in raw.stage.into_iter().enumerate() {
        if stage.parallel && i == 0 {
            return Err(err(
                "stage.parallel",
                "the first stage has no stage before it to run alongside".into(),
            ));
        }
        let pipeline = super::load(&dir.join(&stage.pipeline), overrides)?;
        stages.push(Stage {
            pipeline,
            parallel: stage.parallel,
        });
    }
    check_stages(&stages, &err)?;
    Ok(Plan {
        file: path.to_path_buf(),
        properties,
        stages,
        progress: super::files::sibling(path, "stages.json"),
    })
}

impl Plan {
    /// The stages in groups that run at once: a stage with `parallel = true` joins the group of the
    /// stage before it. Indexes into `stages`.
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            match groups.last_mut() {
                Some(group) if stage.parallel => group.push(i),
                _ => groups.push(vec![i]),
            }
        }
        groups
    }
}

/// Checks across stages: one portal, no file shared by two stages, and no stage running alongside
/// a stage whose records it links to.
fn check_stages(
    stages: &[Stage],
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let first = &stages[0].pipeline;
    for (i, stage) in stages.iter().enumerate() {
        let p = &stage.pipeline;
        let name = |p: &Pipeline| p.file.display().to_string();
        if p.target.base_url != first.target.base_url
            || p.target.token_env != first.target.token_env
        {
            return Err(err(
                "stage.pipeline",
                format!(
                    "{} sends to another portal (base_url, token_env) than {}: the stages of a \
                     plan share one portal",
                    name(p),
                    name(first)
                ),
            ));
        }
        for earlier in &stages[..i] {
            let e = &earlier.pipeline;
            let files = |p: &Pipeline| {
                let mut files = vec![
                    p.file.clone(),
                    p.dead_letter.path.clone(),
                    p.checkpoint.path.clone(),
                ];
                files.extend(p.sync.as_ref().map(|s| s.state.clone()));
                files
            };
            for a in files(p) {
                if files(e).iter().any(|b| super::files::same_file(&a, b)) {
                    return Err(err(
                        "stage.pipeline",
                        format!(
                            "{} and {} both use {}: give each stage its own pipeline, journal, \
                             dead-letter and state files",
                            name(e),
                            name(p),
                            a.display()
                        ),
                    ));
                }
            }
        }
    }
    // A stage alongside another must not link by that stage's records: they are being loaded.
    let mut group_start = 0;
    for (i, stage) in stages.iter().enumerate() {
        if !stage.parallel {
            group_start = i;
            continue;
        }
        for other in &stages[group_start..i] {
            if let Some(why) = depends(&stage.pipeline, &other.pipeline) {
                return Err(err(
                    "stage.parallel",
                    format!(
                        "{} runs alongside {} but {why}: run it after (remove parallel = true)",
                        stage.pipeline.file.display(),
                        other.pipeline.file.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Why `a` needs `b`'s records loaded first (or `b` needs `a`'s), if it does: a `from_pipeline`
/// naming the other, or a link to the other's object type (as named in the files).
fn depends(a: &Pipeline, b: &Pipeline) -> Option<String> {
    let needs = |p: &Pipeline, other: &Pipeline| -> Option<String> {
        let object = other.target.object.to_lowercase();
        let maps = p
            .associations
            .iter()
            .filter_map(|s| match &s.key {
                TargetKey::Pipeline(map) => Some(&map.pipeline),
                _ => None,
            })
            .chain(p.target.from_pipeline.as_ref().map(|m| &m.pipeline));
        for map in maps {
            if super::files::same_file(map, &other.file) {
                return Some(format!("{} links by its map", p.file.display()));
            }
        }
        p.associations
            .iter()
            .any(|s| s.to_object.as_deref().map(str::to_lowercase) == Some(object.clone()))
            .then(|| format!("{} links to its {}", p.file.display(), other.target.object))
    };
    needs(a, b).or_else(|| needs(b, a))
}

/// HubSpot's property types, with the field type each gets by default.
const TYPES: [(&str, &str); 7] = [
    ("string", "text"),
    ("number", "number"),
    ("date", "date"),
    ("datetime", "date"),
    ("bool", "booleancheckbox"),
    ("enumeration", "select"),
    ("phone_number", "phonenumber"),
];

/// The information group of the standard objects that have one everyone knows.
fn default_group(object: &str) -> Option<&'static str> {
    match object.to_lowercase().as_str() {
        "contacts" | "contact" | "0-1" => Some("contactinformation"),
        "companies" | "company" | "0-2" => Some("companyinformation"),
        "deals" | "deal" | "0-3" => Some("dealinformation"),
        "tickets" | "ticket" | "0-5" => Some("ticketinformation"),
        _ => None,
    }
}

impl RawProperty {
    fn validate(
        self,
        err: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<PropertySpec, ConfigError> {
        let key = format!("properties.{}", self.name);
        let valid_name = self.name.len() <= 100
            && self.name.starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(err(
                &key,
                format!(
                    "{:?} is not a property name: lower-case letters, digits and _, starting \
                     with a letter",
                    self.name
                ),
            ));
        }
        let object = self.object.trim().to_string();
        if object.is_empty() || self.label.trim().is_empty() {
            return Err(err(&key, "object and label must not be empty".into()));
        }
        let Some((_, default_field)) = TYPES.iter().find(|(t, _)| *t == self.kind) else {
            let names: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
            return Err(err(
                &format!("{key}.type"),
                format!("unknown type {:?}: expected one of {names:?}", self.kind),
            ));
        };
        let group = match self
            .group
            .or_else(|| default_group(&object).map(String::from))
        {
            Some(group) if !group.trim().is_empty() => group,
            _ => {
                return Err(err(
                    &format!("{key}.group"),
                    format!("{object} has no default property group: name one (its groupName)"),
                ));
            }
        };
        if self.kind == "enumeration" && self.options.is_empty() {
            return Err(err(
                &format!("{key}.options"),
                "an enumeration needs options = [{ label = \"…\", value = \"…\" }, …]".into(),
            ));
        }
        Ok(PropertySpec {
            object,
            field_type: self.field_type.unwrap_or_else(|| default_field.to_string()),
            name: self.name,
            label: self.label,
            kind: self.kind,
            unique: self.unique,
            group,
            description: self.description,
            options: self
                .options
                .into_iter()
                .map(|o| (o.label, o.value))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_told_from_pipelines_by_their_tables() {
        assert!(is_plan("[[stage]]\npipeline = \"a.toml\"\n"));
        assert!(is_plan(
            "[[properties]]\nobject = \"companies\"\nname = \"x\"\n"
        ));
        assert!(!is_plan(
            "[source]\npath = \"a.csv\"\n[[stage]]\npipeline = \"a\"\n"
        ));
        assert!(!is_plan("[source]\npath = \"a.csv\"\n"));
        assert!(!is_plan("not = toml = at all"));
    }

    fn property(text: &str) -> Result<PropertySpec, String> {
        let raw: RawProperty = toml::from_str(text).map_err(|e| e.to_string())?;
        raw.validate(&|key, message| ConfigError::Invalid {
            file: PathBuf::from("m.toml"),
            key: key.into(),
            message,
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn properties_get_defaults_and_checks() {
        let p = property(
            "object = \"companies\"\nname = \"external_id\"\nlabel = \"External ID\"\ntype = \"string\"\nunique = true",
        )
        .unwrap();
        assert_eq!(p.field_type, "text");
        assert_eq!(p.group, "companyinformation");
        assert!(p.unique);
        let e = property("object = \"notes\"\nname = \"x\"\nlabel = \"X\"\ntype = \"string\"")
            .unwrap_err();
        assert!(e.contains("no default property group"), "{e}");
        let e =
            property("object = \"deals\"\nname = \"Bad-Name\"\nlabel = \"X\"\ntype = \"string\"")
                .unwrap_err();
        assert!(e.contains("not a property name"), "{e}");
        let e = property("object = \"deals\"\nname = \"x\"\nlabel = \"X\"\ntype = \"text\"")
            .unwrap_err();
        assert!(e.contains("unknown type \"text\""), "{e}");
        let e = property("object = \"deals\"\nname = \"x\"\nlabel = \"X\"\ntype = \"enumeration\"")
            .unwrap_err();
        assert!(e.contains("needs options"), "{e}");
    }
}
