//! The drafted pipeline file's text: the keys `etl run` reads, each choice explained in a comment
//! above it, what the sample left in doubt marked `CHECK:`, and the columns left out listed with
//! their nearest properties, ready to map by hand.

use std::fmt::Write as _;

use super::plan::{Mapping, Plan};
use crate::config::Dispatch;

/// The pipeline file for `plan`. `command` is the `etl init` line that drafted it.
pub fn render(plan: &Plan, command: &str) -> String {
    let mut out = String::new();
    let (rows, whole) = plan.sampled;
    let sampled = if whole {
        format!("all {rows} readable rows")
    } else {
        format!("the first {rows} readable rows")
    };
    let schema = if plan.base_url == "sandbox" {
        "the embedded sandbox (HubSpot's standard properties)".to_string()
    } else {
        plan.base_url.clone()
    };
    let _ = writeln!(out, "# Drafted by `{command}`");
    let _ = writeln!(out, "# from the header and {sampled} of {},", plan.source);
    let _ = writeln!(
        out,
        "# and the property schema of {} in {schema}.",
        plan.object
    );
    let _ = writeln!(
        out,
        "# Each mapping says why it was chosen; lines marked CHECK need a person. Then try it on every"
    );
    let _ = writeln!(
        out,
        "# row, without writing anything:  etl validate <this file>   (every key: docs/pipeline.md)"
    );
    out.push_str("\n[source]\n");
    let _ = writeln!(out, "path = {}", quote(&plan.source));
    if let Some(delimiter) = plan.delimiter {
        let _ = writeln!(out, "delimiter = {}", quote(delimiter));
    }
    target(plan, &mut out);
    out.push_str("\n[mapping]\n");
    for mapping in &plan.mappings {
        entry(mapping, &mut out);
    }
    for constant in &plan.constants {
        let _ = writeln!(out, "# {} {}", constant.property, constant.note);
        let _ = writeln!(
            out,
            "{} = {{ value = {} }}",
            key(&constant.property),
            quote(&constant.value)
        );
    }
    for property in &plan.unmapped_required {
        let _ = writeln!(
            out,
            "# CHECK: {property} is required to create a record and no column holds it: map a \
             column, or set {{ value = \"…\" }} for every record"
        );
    }
    if !plan.left_out.is_empty() {
        out.push_str("\n# Columns left out. To load one, map it above:  property = \"Column\"\n");
        for left in &plan.left_out {
            let nearest = if left.nearest.is_empty() {
                String::new()
            } else {
                let names: Vec<String> = left
                    .nearest
                    .iter()
                    .map(|(name, label)| format!("{name} ({label:?})"))
                    .collect();
                format!("; nearest: {}", names.join(", "))
            };
            let _ = writeln!(out, "# {}: {}{nearest}", quote(&left.column), left.why);
        }
    }
    let dispatch = Dispatch::default();
    out.push_str("\n[dispatch]\n");
    let _ = writeln!(
        out,
        "# Your portal's burst: 100 requests per 10 s on Free and Starter, 190 on Professional and \
         Enterprise."
    );
    let _ = writeln!(
        out,
        "requests_per_interval = {}",
        dispatch.requests_per_interval
    );
    let _ = writeln!(out, "interval_ms = {}", dispatch.interval.as_millis());
    out
}

/// The `[target]` table.
fn target(plan: &Plan, out: &mut String) {
    out.push_str("\n[target]\n");
    let _ = writeln!(out, "object = {}", quote(&plan.object));
    let _ = writeln!(out, "# {}.", capitalised(&plan.identity_note));
    let _ = writeln!(out, "operation = {}", quote(&plan.operation.to_string()));
    if let Some(p) = &plan.id_property {
        let _ = writeln!(out, "id_property = {}", quote(p));
    }
    if let Some(c) = &plan.id_column {
        let _ = writeln!(out, "id_column = {}", quote(c));
    }
    if plan.base_url == "sandbox" {
        out.push_str(
            "# The embedded sandbox: a rehearsal. To load your portal, run with\n\
             # --base-url https://api.hubapi.com (or write it here).\n",
        );
    }
    let _ = writeln!(out, "base_url = {}", quote(&plan.base_url));
    match &plan.token_env {
        Some(var) => {
            let _ = writeln!(out, "token_env = {}", quote(var));
        }
        None => out.push_str(
            "# The token is read from HUBSPOT_TOKEN; token_env names another variable.\n",
        ),
    }
}

/// One `[mapping]` line with its reason and notes.
fn entry(mapping: &Mapping, out: &mut String) {
    let _ = writeln!(out, "# {}: {}", quote(&mapping.column), mapping.reason);
    for note in &mapping.transform.notes {
        let _ = writeln!(out, "# CHECK: {note}");
    }
    let t = &mapping.transform;
    let property = key(&mapping.property);
    if t.is_plain() {
        let _ = writeln!(out, "{property} = {}", quote(&mapping.column));
        return;
    }
    let mut parts = vec![format!("column = {}", quote(&mapping.column))];
    if t.trim {
        parts.push("trim = true".into());
    }
    if t.lowercase {
        parts.push("lowercase = true".into());
    }
    if let Some(format) = &t.format {
        parts.push(format!("format = {}", quote(format)));
    }
    if let Some(split) = &t.split {
        parts.push(format!("split = {}", quote(split)));
    }
    if !t.values.is_empty() {
        let pairs: Vec<String> = t
            .values
            .iter()
            .map(|(label, value)| format!("{} = {}", quote(label), quote(value)))
            .collect();
        parts.push(format!("values = {{ {} }}", pairs.join(", ")));
    }
    let _ = writeln!(out, "{property} = {{ {} }}", parts.join(", "));
}

/// A TOML string (basic string, escaped).
fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A TOML key: bare when it can be, else quoted.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        quote(name)
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_keys_are_valid_toml() {
        for text in ["a \"b\" \\ c", "it's", "%d/%m/%Y", "line\nbreak"] {
            let table: toml::Table = toml::from_str(&format!("k = {}", quote(text))).unwrap();
            assert_eq!(table["k"].as_str(), Some(text));
        }
        assert_eq!(key("date_of_birth"), "date_of_birth");
        assert_eq!(key("odd name"), "\"odd name\"");
    }
}
