//! `from_pipeline`: reading the other pipeline a table (or `[target]`) names, for what its identity
//! map needs — where its `[sync]` state is, which object it loads, how its keys are spelled. The
//! other file is validated as a pipeline of its own, without following its own `from_pipeline`s
//! (two stages may name each other without the loader going round in circles).

use std::path::Path;

use super::association::{IdentityMap, TargetKey};
use super::{ConfigError, Pipeline};

/// Reads the identity map of every `from_pipeline` of `pipeline`, and gives `to_object` its default
/// (the other pipeline's object).
pub(super) fn resolve(pipeline: &mut Pipeline) -> Result<(), ConfigError> {
    let file = pipeline.file.clone();
    for spec in &mut pipeline.associations {
        if let TargetKey::Pipeline(map) = &mut spec.key {
            *map = read(&file, &map.pipeline, "associations.from_pipeline")?;
            if spec.to_object.is_none() {
                spec.to_object = Some(map.object.clone());
            }
        }
    }
    if let Some(map) = &mut pipeline.target.from_pipeline {
        *map = read(&file, &map.pipeline, "target.from_pipeline")?;
    }
    Ok(())
}

/// The identity map of the pipeline file `other`, named by `key` of `file`.
fn read(file: &Path, other: &Path, key: &str) -> Result<IdentityMap, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        file: file.to_path_buf(),
        key: key.to_string(),
        message,
    };
    if super::files::same_file(file, other) {
        return Err(invalid(
            "names this pipeline itself: a pipeline cannot link by the state it is writing".into(),
        ));
    }
    let text = std::fs::read_to_string(other)
        .map_err(|e| invalid(format!("cannot read {}: {e}", other.display())))?;
    let loaded = super::parse_shallow(other, &text)
        .map_err(|e| invalid(format!("{} is not a valid pipeline: {e}", other.display())))?;
    let Some(sync) = &loaded.sync else {
        return Err(invalid(format!(
            "{} keeps no [sync] state, so it has no map of its records: add a [sync] table to it \
             (or link by to_property)",
            other.display()
        )));
    };
    let lowercase = match sync.key.as_slice() {
        [] => true,
        [_] => false,
        columns => {
            return Err(invalid(format!(
                "{} keys its state by {} columns {columns:?}; a link names one value: give that \
                 pipeline a one-column [sync] key",
                other.display(),
                columns.len()
            )));
        }
    };
    Ok(IdentityMap {
        pipeline: other.to_path_buf(),
        state: sync.state.clone(),
        object: loaded.target.object.clone(),
        lowercase,
    })
}
