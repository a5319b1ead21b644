//! Files compared by identity, never by spelling: `x.failed.csv`, `./x.failed.csv` and
//! `/abs/path/x.failed.csv` (or a symlink to it) are one file. A run never opens for writing, or
//! removes, a file that is its source or its pipeline file. And where a job's files go: beside
//! another file, by its stem ([`sibling`]).

use std::path::{Path, PathBuf};

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
