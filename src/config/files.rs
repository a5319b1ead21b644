//! The job's files: compared by identity, never by spelling (`x.failed.csv`, `./x.failed.csv` and
//! `/abs/path/x.failed.csv`, or a symlink to it, are one file), so a run never opens for writing,
//! or removes, a file that is its source or its pipeline file; a source that is not there told
//! apart, with the file the user most likely meant; and where a job's files go: beside another
//! file, by its stem ([`sibling`]).

use std::path::{Path, PathBuf};

use super::suggestion::did_you_mean;

/// Extensions of the files a pipeline can read.
const SOURCE_EXTENSIONS: [&str; 5] = ["csv", "tsv", "txt", "parquet", "pq"];

/// Why `path` cannot be a source file, with the nearest source file of its folder when the name
/// looks misspelt; `None` when it is a file. (Only metadata is read: opening a named pipe here
/// would block.)
pub fn unreadable_source(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Some(format!("{} is a folder, not a file", path.display())),
        Ok(_) => None,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("{} does not exist{}", path.display(), nearby(path)))
        }
        Err(err) => Some(format!("cannot read {}: {err}", path.display())),
    }
}

/// ` (did you mean "contacts.csv"?)` for a source file in `path`'s folder named like it.
fn nearby(path: &Path) -> String {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return String::new();
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return String::new();
    };
    let names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|file| {
            Path::new(file)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| SOURCE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    did_you_mean(name, names.iter().map(String::as_str))
}

/// Whether `a` and `b` name the same file (existing or not).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return a.dev() == b.dev() && a.ino() == b.ino();
        }
    }
    resolved(a) == resolved(b)
}

/// The path with its folder resolved (the file itself need not exist).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(full) = path.canonicalize() {
        return full;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .unwrap_or_else(|_| dir.to_path_buf())
            .join(name),
        _ => absolute,
    }
}

/// `dir/stem.suffix` next to `path` (`contacts.csv` → `contacts.failed.csv`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    path.with_file_name(format!("{stem}.{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_source_names_the_nearest_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("contacts.csv"), "a\n").unwrap();
        std::fs::write(dir.path().join("contacts.toml"), "").unwrap();
        assert_eq!(unreadable_source(&dir.path().join("contacts.csv")), None);
        let message = unreadable_source(&dir.path().join("contact.csv")).unwrap();
        assert!(
            message.ends_with("contact.csv does not exist (did you mean \"contacts.csv\"?)"),
            "{message}"
        );
        let message = unreadable_source(&dir.path().join("zzz.csv")).unwrap();
        assert!(message.ends_with("zzz.csv does not exist"), "{message}");
        let message = unreadable_source(dir.path()).unwrap();
        assert!(message.ends_with("is a folder, not a file"), "{message}");
    }

    #[test]
    fn spelling_does_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.failed.csv");
        std::fs::write(&file, "a\n").unwrap();
        let dotted = dir.path().join(".").join("x.failed.csv");
        assert!(same_file(&file, &dotted));
        let missing = dir.path().join("new.csv");
        assert!(same_file(&missing, &dir.path().join("sub/../new.csv")) || !missing.exists());
        assert!(!same_file(&file, &missing));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert!(same_file(&file, &link));
        }
    }
}
