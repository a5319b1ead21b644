//! The pipeline file's raw shape: serde structs with `deny_unknown_fields`, so a typo is an error
//! naming the key and its line. [`super::check`] turns them into the validated types.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    pub(super) source: RawSource,
    pub(super) target: RawTarget,
    #[serde(default)]
    pub(super) mapping: BTreeMap<String, RawMapping>,
    #[serde(default)]
    pub(super) associations: Vec<super::association::RawAssociation>,
    #[serde(default)]
    pub(super) dispatch: RawDispatch,
    #[serde(default)]
    pub(super) dead_letter: RawDeadLetter,
    #[serde(default)]
    pub(super) checkpoint: RawCheckpoint,
    pub(super) sync: Option<super::sync::RawSync>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) path: PathBuf,
    pub(super) format: Option<String>,
    pub(super) delimiter: Option<String>,
    pub(super) max_row_bytes: Option<usize>,
    pub(super) prepare_threads: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) object: String,
    pub(super) operation: String,
    pub(super) id_property: Option<String>,
    pub(super) id_column: Option<String>,
    pub(super) base_url: String,
    pub(super) token_env: Option<String>,
    #[serde(default)]
    pub(super) allow_plain_http: bool,
    pub(super) api_version: Option<String>,
    pub(super) from_pipeline: Option<PathBuf>,
}

/// `property = "Column"` or a table with transforms.
pub(super) enum RawMapping {
    Column(String),
    Table(RawMappingTable),
}

impl<'de> Deserialize<'de> for RawMapping {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawMapping;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a column name or a table such as { column = \"Close\", type = \"date\" }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawMapping, E> {
                Ok(RawMapping::Column(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawMapping, A::Error> {
                RawMappingTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawMapping::Table)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMappingTable {
    pub(super) column: Option<String>,
    pub(super) columns: Option<Vec<String>>,
    pub(super) value: Option<String>,
    #[serde(default)]
    pub(super) trim: bool,
    #[serde(default)]
    pub(super) lowercase: bool,
    #[serde(default)]
    pub(super) values: BTreeMap<String, String>,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) format: Option<String>,
    pub(super) default: Option<String>,
    pub(super) split: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDispatch {
    pub(super) requests_per_interval: Option<u32>,
    pub(super) interval_ms: Option<u64>,
    pub(super) concurrency: Option<usize>,
    pub(super) batch_size: Option<usize>,
    pub(super) association_requests_per_interval: Option<u32>,
    pub(super) association_batch_size: Option<usize>,
    pub(super) max_retries: Option<u32>,
    pub(super) timeout_ms: Option<u64>,
    pub(super) daily_limit: Option<u64>,
    pub(super) shared_budget: Option<String>,
    pub(super) shared_budget_outage_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeadLetter {
    pub(super) path: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheckpoint {
    pub(super) path: Option<PathBuf>,
}
