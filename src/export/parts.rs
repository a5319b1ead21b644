//! Parquet part files: a Parquet export is written as a series of complete files, one row group
//! each, so every commit point is a closed file (a killed export loses only the part it was
//! writing) and `--resume` appends new parts instead of rewriting old ones. At the end the parts are
//! joined into one file by copying their encoded column chunks as they are (no decoding).
//!
//! When a column widens after parts were written (see `typed.rs`), the parts are rewritten with
//! the wider type: each value is rendered back to text and rebuilt in the new type, which holds it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use super::error::ExportError;
use super::typed::{Physical, array, render};

/// A column's dictionary stops growing past this size and its values are written plain: a
/// column of distinct values (emails, names, ids) stops paying for a dictionary after a few
/// thousand of them, while one of few values (a stage, a country) keeps its dictionary.
const DICTIONARY_BYTES: usize = 64 * 1024;

/// How parts are encoded: snappy, as pyarrow, Spark and DuckDB write by default.
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_page_size_limit(DICTIONARY_BYTES)
        .build()
}

/// A writer of one part with `schema`.
pub fn writer(path: &Path, schema: SchemaRef) -> Result<ArrowWriter<File>, ExportError> {
    let file = File::create(path).map_err(ExportError::io(path))?;
    ArrowWriter::try_new(file, schema, Some(properties())).map_err(ExportError::parquet(path))
}

/// The type `etl` wrote a column with, from the file's Arrow schema.
fn physical_of(data_type: &DataType) -> Option<Physical> {
    Some(match data_type {
        DataType::Utf8 => Physical::Utf8,
        DataType::Decimal128(_, scale) => Physical::Decimal(*scale),
        DataType::Float64 => Physical::Float64,
        DataType::Date32 => Physical::Date32,
        DataType::Timestamp(TimeUnit::Millisecond, _) => Physical::TimestampMs,
        DataType::Boolean => Physical::Boolean,
        _ => return None,
    })
}

/// Rewrites part `from` into `to` with `schema`, widening the columns whose type changed.
pub fn rewrite(from: &Path, to: &Path, schema: SchemaRef) -> Result<(), ExportError> {
    let file = File::open(from).map_err(ExportError::io(from))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(ExportError::parquet(from))?;
    let mut out = writer(to, Arc::clone(&schema))?;
    for batch in reader {
        let batch = batch.map_err(|e| ExportError::Parquet {
            path: from.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for (i, field) in schema.fields().iter().enumerate() {
            let column = batch.column(i);
            let target = physical_of(field.data_type());
            let source = physical_of(column.data_type());
            let (Some(target), Some(source)) = (target, source) else {
                return Err(ExportError::Parquet {
                    path: from.to_path_buf(),
                    message: format!("column {} has a type etl does not write", field.name()),
                });
            };
            if target == source {
                columns.push(Arc::clone(column));
            } else {
                let texts: Vec<Option<String>> = (0..column.len())
                    .map(|row| render(column.as_ref(), source, row))
                    .collect();
                columns.push(array(target, &texts).0);
            }
        }
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| {
            ExportError::Parquet {
                path: to.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        out.write(&batch).map_err(ExportError::parquet(to))?;
    }
    out.close().map_err(ExportError::parquet(to))?;
    Ok(())
}

/// Joins `parts` (complete files with the same schema) into `out`, copying their encoded column
/// chunks; with no parts, an empty file with `schema`.
pub fn concat(parts: &[PathBuf], out: &Path, schema: SchemaRef) -> Result<(), ExportError> {
    let Some(first) = parts.first() else {
        let writer = writer(out, schema)?;
        writer.close().map_err(ExportError::parquet(out))?;
        return Ok(());
    };
    let mut inputs = Vec::with_capacity(parts.len());
    for part in parts {
        let file = File::open(part).map_err(ExportError::io(part))?;
        let metadata = ParquetMetaDataReader::new()
            .parse_and_finish(&file)
            .map_err(ExportError::parquet(part))?;
        inputs.push((part, file, metadata));
    }
    let head = &inputs[0].2;
    for (part, _, metadata) in &inputs[1..] {
        if metadata.file_metadata().schema_descr().root_schema()
            != head.file_metadata().schema_descr().root_schema()
        {
            return Err(ExportError::Parquet {
                path: part.to_path_buf(),
                message: format!("its schema differs from {}'s", first.display()),
            });
        }
    }
    // The Arrow schema travels in the key-value metadata: keep it, so readers get back the exact
    // Arrow types (the time zone of timestamps included).
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(head.file_metadata().key_value_metadata().cloned())
        .build();
    let file = File::create(out).map_err(ExportError::io(out))?;
    let mut writer = SerializedFileWriter::new(
        file,
        head.file_metadata().schema_descr().root_schema_ptr(),
        Arc::new(properties),
    )
    .map_err(ExportError::parquet(out))?;
    for (_, file, metadata) in &inputs {
        for group in metadata.row_groups() {
            let mut group_writer = writer.next_row_group().map_err(ExportError::parquet(out))?;
            for column in group.columns() {
                let chunk = ColumnCloseResult {
                    bytes_written: column.compressed_size() as u64,
                    rows_written: group.num_rows() as u64,
                    metadata: column.clone(),
                    bloom_filter: None,
                    column_index: None,
                    offset_index: None,
                };
                group_writer
                    .append_column(file, chunk)
                    .map_err(ExportError::parquet(out))?;
            }
            group_writer.close().map_err(ExportError::parquet(out))?;
        }
    }
    writer.close().map_err(ExportError::parquet(out))?;
    Ok(())
}
