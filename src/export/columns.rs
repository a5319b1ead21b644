//! The columns of an export: `hs_object_id`, the properties in the requested order, `createdAt`,
//! `updatedAt`, `archived`, then one column per associated object type (ids joined with `;`);
//! and the long-format history file's columns. Each column's kind comes from the property schema.

use crate::portal::schema::ObjectSchema;
use crate::read::{Record, Wanted};

use super::typed::Kind;

/// The record id's column (also the property HubSpot names it by).
pub const ID: &str = "hs_object_id";

/// The history file's columns: one row per (record, property, version).
pub const HISTORY: [(&str, Kind); 5] = [
    (ID, Kind::Text),
    ("property", Kind::Text),
    ("value", Kind::Text),
    ("timestamp", Kind::DateTime),
    ("sourceType", Kind::Text),
];

/// A record with its association columns (ids joined with `;`, `None` without links).
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub record: Record,
    pub links: Vec<Option<String>>,
}

/// The columns of one export and the properties read for them.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The properties read, in column order (`hs_object_id` is its own column, never here).
    pub wanted: Wanted,
    /// Associated object types, in column order.
    pub associations: Vec<String>,
    kinds: Vec<Kind>,
}

impl Plan {
    /// The plan for `properties` (kinds from `schema`; unknown names are text) and `associations`.
    pub fn new(properties: &[String], schema: &ObjectSchema, associations: &[String]) -> Plan {
        let wanted = Wanted::new(properties.iter().filter(|p| *p != ID).cloned());
        let kinds = wanted
            .names()
            .iter()
            .map(|name| {
                schema
                    .property(name)
                    .map_or(Kind::Text, |p| Kind::of(&p.kind))
            })
            .collect();
        Plan {
            wanted,
            associations: associations.to_vec(),
            kinds,
        }
    }

    /// Every column's name and kind, in order.
    pub fn columns(&self) -> Vec<(String, Kind)> {
        let mut columns = Vec::with_capacity(self.wanted.len() + 4 + self.associations.len());
        columns.push((ID.to_string(), Kind::Text));
        columns.extend(
            self.wanted
                .names()
                .iter()
                .cloned()
                .zip(self.kinds.iter().copied()),
        );
        columns.push(("createdAt".into(), Kind::DateTime));
        columns.push(("updatedAt".into(), Kind::DateTime));
        columns.push(("archived".into(), Kind::Bool));
        columns.extend(self.associations.iter().map(|a| (a.clone(), Kind::Text)));
        columns
    }

    /// The history file's columns.
    pub fn history_columns() -> Vec<(String, Kind)> {
        HISTORY
            .iter()
            .map(|(name, kind)| (name.to_string(), *kind))
            .collect()
    }

    /// The history rows of `record`, one per version.
    pub fn history_cells(&self, record: &Record) -> Vec<Vec<Option<String>>> {
        record
            .history
            .iter()
            .map(|version| {
                vec![
                    Some(record.id.clone()),
                    self.wanted.names().get(version.property).cloned(),
                    version.value.clone(),
                    version.timestamp.clone(),
                    version.source_type.clone(),
                ]
            })
            .collect()
    }

    /// The cells of `row`, in column order (the row's values move into them).
    pub fn cells(&self, row: Row) -> Vec<Option<String>> {
        let Row { record, links } = row;
        let mut cells = Vec::with_capacity(self.wanted.len() + 4 + links.len());
        cells.push(Some(record.id));
        cells.extend(record.values);
        cells.push(record.created_at);
        cells.push(record.updated_at);
        cells.push(Some(record.archived.to_string()));
        cells.extend(links);
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Version;

    fn schema() -> ObjectSchema {
        ObjectSchema::from_json(
            "contacts",
            br#"{"results":[
                {"name":"email","label":"Email","type":"string","fieldType":"text"},
                {"name":"score","label":"Score","type":"number","fieldType":"number"},
                {"name":"hs_object_id","label":"Record ID","type":"number","fieldType":"number"}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn columns_in_the_contract_order() {
        let properties = ["score", "hs_object_id", "email", "nope"].map(String::from);
        let plan = Plan::new(&properties, &schema(), &["companies".into()]);
        let columns = plan.columns();
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "hs_object_id",
                "score",
                "email",
                "nope",
                "createdAt",
                "updatedAt",
                "archived",
                "companies"
            ]
        );
        assert_eq!(columns[1].1, Kind::Number);
        assert_eq!(columns[3].1, Kind::Text);
        let record = Record {
            id: "7".into(),
            values: vec![Some("1.5".into()), None, None],
            created_at: Some("2024-01-01T00:00:00.000Z".into()),
            archived: true,
            history: vec![Version {
                property: 1,
                value: Some("a@b.co".into()),
                timestamp: Some("2024-01-01T00:00:00.000Z".into()),
                source_type: Some("API".into()),
            }],
            ..Record::default()
        };
        let history = plan.history_cells(&record);
        assert_eq!(history[0][1].as_deref(), Some("email"));
        let cells = plan.cells(Row {
            record,
            links: vec![Some("9;10".into())],
        });
        assert_eq!(cells.len(), names.len());
        assert_eq!(cells[0].as_deref(), Some("7"));
        assert_eq!(cells[6].as_deref(), Some("true"));
        assert_eq!(cells[7].as_deref(), Some("9;10"));
    }
}
