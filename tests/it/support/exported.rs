//! A file `etl export` wrote, read back: CSV or Parquet (by its extension) as rows of text under
//! the header — nulls and empty CSV cells are `None` — and, for Parquet, the Arrow schema the
//! parquet crate reads.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, Float64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatchReader};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// An exported file.
#[derive(Debug, Clone)]
pub struct Exported {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Parquet only.
    pub schema: Option<SchemaRef>,
}

impl Exported {
    /// Reads `path` (panics when it is missing or unreadable).
    pub fn read(path: &Path) -> Exported {
        match path.extension().and_then(|e| e.to_str()) {
            Some("parquet") => read_parquet(path),
            _ => read_csv(path),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    fn index(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in {:?}", self.header))
    }

    /// The values of column `name`, top to bottom.
    pub fn column(&self, name: &str) -> Vec<Option<&str>> {
        let i = self.index(name);
        self.rows.iter().map(|row| row[i].as_deref()).collect()
    }

    /// The value of column `name` in row `row` (0-based).
    pub fn get(&self, row: usize, name: &str) -> Option<&str> {
        self.rows[row][self.index(name)].as_deref()
    }

    /// The row whose `hs_object_id` is `id`.
    pub fn row_of(&self, id: &str) -> usize {
        self.column("hs_object_id")
            .iter()
            .position(|v| *v == Some(id))
            .unwrap_or_else(|| panic!("no record {id}"))
    }

    /// The Arrow type of Parquet column `name`.
    pub fn data_type(&self, name: &str) -> DataType {
        let schema = self.schema.as_ref().expect("a Parquet file");
        schema
            .field_with_name(name)
            .unwrap_or_else(|_| panic!("no column {name:?}"))
            .data_type()
            .clone()
    }
}

fn read_csv(path: &Path) -> Exported {
    let mut reader = csv::Reader::from_path(path)
        .unwrap_or_else(|e| panic!("a readable CSV at {}: {e}", path.display()));
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            r.expect("a record")
                .iter()
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect()
        })
        .collect();
    Exported {
        header,
        rows,
        schema: None,
    }
}

fn read_parquet(path: &Path) -> Exported {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a Parquet file")
        .build()
        .expect("a reader");
    let schema = reader.schema();
    let header = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.expect("a record batch");
        for i in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| text(c.as_ref(), i))
                    .collect(),
            );
        }
    }
    Exported {
        header,
        rows,
        schema: Some(schema),
    }
}

/// Value `i` of an array as text.
fn text(array: &dyn Array, i: usize) -> Option<String> {
    if array.is_null(i) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(i).to_string(),
        DataType::Decimal128(_, _) => array.as_primitive::<Decimal128Type>().value_as_string(i),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(i);
            (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                + chrono::Duration::days(i64::from(days)))
            .to_string()
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let ms = array.as_primitive::<TimestampMillisecondType>().value(i);
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        }
        DataType::Boolean => array.as_boolean().value(i).to_string(),
        other => panic!("etl does not write {other}"),
    })
}
