//! The reading half of an export: pages of records, in order, into the sink's bounded channel.
//!
//! - A list export pages through `GET …/objects/{type}` with `limit` and `after`, one page after
//!   the other (each page's cursor comes from the previous answer): the reader skims each answer
//!   for its cursor and hands the body to the sink, which parses it while the next page is read.
//!   When the property list is too long for a URL, each page lists ids only and its records are
//!   batch-read by id.
//! - An id export reads the id file in batches of 100 (50 with history), batch-reads them several
//!   at a time under the adaptive concurrency, and hands the results on in the file's order: one
//!   row per id row that names a record; the others are missing.
//! - With associations, each page's links are read with the v4 batch read, one request per
//!   associated type.
//!
//! A refused read stops the export (the halt says why); the run's stop switch ends every wait.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::columns::{ID, Plan, Row};
use super::sink::{Chunk, Missing};
use super::state::Cursor;
use crate::dispatch::concurrency::Concurrency;
use crate::portal::Portal;
use crate::portal::halt::Halt;
use crate::prepare::source::Source;
use crate::read::request::{self, ReadError};
use crate::read::{Page, Record, Selection, Wanted};

/// What the reader needs.
pub struct Reader {
    pub portal: Arc<Portal>,
    pub object: String,
    pub plan: Plan,
    /// Everything the export reads: the plan's properties, their history, archived or not.
    pub selection: Selection,
    pub concurrency: Arc<Concurrency>,
    /// Batch reads in flight at most (id exports).
    pub in_flight: usize,
}

/// The id file of an id export.
pub struct IdFile {
    pub source: Source,
    /// The column holding the ids.
    pub column: usize,
    /// The unique property the ids are values of (`None`: record ids).
    pub property: Option<String>,
}

/// A batch of id rows: (row, id).
type IdBatch = Vec<(u64, String)>;

impl Reader {
    /// Stops the export on a read that failed; a halted read says nothing (the halt does).
    fn stop(&self, error: ReadError) {
        if let ReadError::Failed { .. } = &error {
            self.portal.halt().raise(Halt::Failed(error.to_string()));
        }
    }

    fn unreadable(&self, what: &str, error: serde_json::Error) -> ReadError {
        ReadError::Failed {
            url: self.portal.url(&self.portal.paths().objects(&self.object)),
            message: format!("unreadable {what}: {error}"),
        }
    }

    /// A list export from `start` to the end.
    pub async fn list(&self, start: Cursor, chunks: mpsc::Sender<Chunk>) {
        let mut after = match start {
            Cursor::Start => None,
            Cursor::After(after) => Some(after),
            Cursor::IdRows(_) | Cursor::End => return,
        };
        // Properties too many for a URL: list ids only, then batch-read each page by id.
        let by_id = !self.selection.fits_a_url();
        let listed = if by_id {
            Selection {
                properties: vec![ID.to_string()],
                history: Vec::new(),
                archived: self.selection.archived,
            }
        } else {
            self.selection.clone()
        };
        // Nothing else to read per page: the sink parses the body while the next page is read.
        let skim = !by_id && self.plan.associations.is_empty();
        loop {
            let page = if skim {
                self.skimmed_page(&listed, after.as_deref()).await
            } else {
                self.parsed_page(&listed, by_id, after.as_deref()).await
            };
            let (chunk, next) = match page {
                Ok(page) => page,
                Err(error) => return self.stop(error),
            };
            if chunks.send(chunk).await.is_err() {
                return;
            }
            match next {
                Some(next) => after = Some(next),
                None => return,
            }
        }
    }

    /// A list page for the sink to parse, and the next page's cursor.
    async fn skimmed_page(
        &self,
        listed: &Selection,
        after: Option<&str>,
    ) -> Result<(Chunk, Option<String>), ReadError> {
        let body = request::list_page(&self.portal, &self.object, listed, after).await?;
        let next = Page::next_cursor(&body).map_err(|e| self.unreadable("list page", e))?;
        let chunk = Chunk {
            body: Some(body),
            cursor: next.clone().map_or(Cursor::End, Cursor::After),
            ..Chunk::default()
        };
        Ok((chunk, next))
    }

    /// A list page parsed here, its records read by id when only ids were listed, with their
    /// associations; and the next page's cursor.
    async fn parsed_page(
        &self,
        listed: &Selection,
        by_id: bool,
        after: Option<&str>,
    ) -> Result<(Chunk, Option<String>), ReadError> {
        let ids_only = Wanted::default();
        let wanted = if by_id { &ids_only } else { &self.plan.wanted };
        let body = request::list_page(&self.portal, &self.object, listed, after).await?;
        let page = Page::parse(&body, wanted).map_err(|e| self.unreadable("list page", e))?;
        let records = if by_id {
            let ids: Vec<&str> = page.records.iter().map(|r| r.id.as_str()).collect();
            self.read_by_id(&ids).await?
        } else {
            page.records
        };
        let chunk = Chunk {
            rows: self.attach(records).await?,
            cursor: page.next.clone().map_or(Cursor::End, Cursor::After),
            ..Chunk::default()
        };
        Ok((chunk, page.next))
    }

    /// The records of `ids` (record ids), in that order; ids no longer found are left out.
    async fn read_by_id(&self, ids: &[&str]) -> Result<Vec<Record>, ReadError> {
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.selection.page_size()) {
            let body = request::batch_read(
                &self.portal,
                &self.object,
                &self.selection,
                None,
                chunk,
                &*self.concurrency,
            )
            .await?;
            let page = Page::parse(&body, &self.plan.wanted)
                .map_err(|e| self.unreadable("batch read answer", e))?;
            let mut found: HashMap<String, Record> = page
                .records
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
            records.extend(chunk.iter().filter_map(|id| found.remove(*id)));
        }
        Ok(records)
    }

    /// The records with their association columns.
    async fn attach(&self, records: Vec<Record>) -> Result<Vec<Row>, ReadError> {
        let mut rows: Vec<Row> = records
            .into_iter()
            .map(|record| Row {
                record,
                links: Vec::with_capacity(self.plan.associations.len()),
            })
            .collect();
        if rows.is_empty() {
            return Ok(rows);
        }
        for to in &self.plan.associations {
            let ids: Vec<&str> = rows.iter().map(|r| r.record.id.as_str()).collect();
            let mut found =
                request::associations(&self.portal, (&self.object, to), &ids, &*self.concurrency)
                    .await?;
            for row in &mut rows {
                let linked = found.remove(&row.record.id).map(|ids| ids.join(";"));
                row.links.push(linked);
            }
        }
        Ok(rows)
    }

    /// An id export from `start` (id rows already read) to the end.
    pub async fn ids(
        self: Arc<Self>,
        mut file: IdFile,
        start: Cursor,
        chunks: mpsc::Sender<Chunk>,
    ) {
        let skip = match start {
            Cursor::Start => 0,
            Cursor::IdRows(rows) => rows,
            Cursor::After(_) | Cursor::End => return,
        };
        let size = self.selection.page_size();
        let in_flight = self.in_flight.max(1);
        let mut pending = VecDeque::new();
        let mut exhausted = false;
        let mut last_row = skip;
        loop {
            while !exhausted && pending.len() < in_flight {
                let batch = next_ids(&mut file, skip, size);
                let Some(last) = batch.last().map(|(row, _)| *row) else {
                    exhausted = true;
                    break;
                };
                last_row = last;
                let reader = Arc::clone(&self);
                let property = file.property.clone();
                pending.push_back(tokio::spawn(async move {
                    reader.read_ids(batch, property.as_deref(), last).await
                }));
            }
            let Some(front) = pending.pop_front() else {
                break;
            };
            let chunk = match front.await {
                Ok(Ok(chunk)) => chunk,
                Ok(Err(error)) => return self.stop(error),
                Err(panicked) => {
                    return self.stop(ReadError::Failed {
                        url: self
                            .portal
                            .url(&self.portal.paths().batch(&self.object, "read")),
                        message: format!("a read task failed: {panicked}"),
                    });
                }
            };
            if chunks.send(chunk).await.is_err() {
                return;
            }
        }
        if let Some(error) = file.source.take_error() {
            return self.stop(ReadError::Failed {
                url: "--ids".into(),
                message: format!("{error} (after row {last_row})"),
            });
        }
        let _ = chunks
            .send(Chunk {
                cursor: Cursor::End,
                ..Chunk::default()
            })
            .await;
    }

    /// One batch of id rows: read, matched back to the rows in their order.
    async fn read_ids(
        &self,
        batch: IdBatch,
        property: Option<&str>,
        last_row: u64,
    ) -> Result<Chunk, ReadError> {
        let _permit = self.concurrency.acquire().await;
        let plan_width = self.plan.wanted.len();
        // Matching by a property needs its value back, whether or not it is a column.
        let mut names = self.plan.wanted.names().to_vec();
        if let Some(p) = property
            && self.plan.wanted.position(p).is_none()
        {
            names.push(p.to_string());
        }
        let wanted = Wanted::new(names);
        let selection = Selection {
            properties: wanted.names().to_vec(),
            ..self.selection.clone()
        };
        let asked: Vec<&str> = batch
            .iter()
            .map(|(_, id)| id.as_str())
            .filter(|id| !id.is_empty())
            .collect();
        let records = if asked.is_empty() {
            Vec::new()
        } else {
            let body = request::batch_read(
                &self.portal,
                &self.object,
                &selection,
                property,
                &asked,
                &*self.concurrency,
            )
            .await?;
            Page::parse(&body, &wanted)
                .map_err(|e| self.unreadable("batch read answer", e))?
                .records
        };
        let key_of = |record: &Record| -> Option<String> {
            match property.and_then(|p| wanted.position(p)) {
                Some(i) => record
                    .values
                    .get(i)
                    .cloned()
                    .flatten()
                    .map(|v| v.to_lowercase()),
                None => Some(record.id.clone()),
            }
        };
        let mut found: HashMap<String, Record> = HashMap::with_capacity(records.len());
        for mut record in records {
            let Some(key) = key_of(&record) else { continue };
            record.values.truncate(plan_width);
            found.insert(key, record);
        }
        let mut matched = Vec::with_capacity(batch.len());
        let mut missing = Vec::new();
        for (row, id) in batch {
            let key = match property {
                Some(_) => id.to_lowercase(),
                None => id.clone(),
            };
            match found.get(&key) {
                Some(record) => matched.push(record.clone()),
                None => missing.push(Missing { row, id }),
            }
        }
        Ok(Chunk {
            rows: self.attach(matched).await?,
            body: None,
            missing,
            cursor: Cursor::IdRows(last_row),
        })
    }
}

/// The next `size` id rows after row `skip` (trimmed ids; an unreadable row has an empty id).
fn next_ids(file: &mut IdFile, skip: u64, size: usize) -> IdBatch {
    let mut batch = Vec::with_capacity(size);
    while batch.len() < size {
        let Some(item) = file.source.next() else {
            break;
        };
        let (row, fields) = match item {
            Ok(row) => (row.row, row.fields),
            Err(rejection) => (rejection.row, Default::default()),
        };
        if row <= skip {
            continue;
        }
        let id = fields
            .get(file.column)
            .map(|f| f.trim().to_string())
            .unwrap_or_default();
        batch.push((row, id));
    }
    batch
}
