//! "Did you mean …?": the candidate nearest to a misspelt name, by edit distance (`strsim`'s
//! Damerau–Levenshtein, so a swapped pair of letters counts once), on names folded so that case,
//! spaces, `_` and `-` do not count. Used for keys' values (operations, `base_url`), object types,
//! properties and file names alike, so every message suggests the same way.

/// A name folded for comparison: lowercase, without spaces, `_`, `-` or `.`.
pub fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The most edits a name of `len` folded characters may be away from a candidate to be taken for
/// a typo of it: one for short names, two from five characters, three from twelve. Further than
/// that a suggestion is more often wrong than helpful.
fn reach(len: usize) -> usize {
    match len {
        0..=4 => 1,
        5..=11 => 2,
        _ => 3,
    }
}

/// The candidate `wanted` is most likely a misspelling of, if any is near enough. A candidate
/// equal to `wanted` once folded wins; otherwise the fewest edits, ties to the first in sorted
/// order (so the answer never depends on a map's iteration order).
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let folded = fold(wanted);
    if folded.is_empty() {
        return None;
    }
    let reach = reach(folded.chars().count());
    candidates
        .into_iter()
        .filter(|candidate| *candidate != wanted)
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&folded, &fold(candidate));
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= reach)
        .min()
        .map(|(_, candidate)| candidate)
}

/// ` (did you mean "x"?)` for the nearest candidate, or nothing.
pub fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(wanted, candidates)
        .map(|hit| format!(" (did you mean {hit:?}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_letter_typos_and_swaps_find_their_word() {
        let properties = ["email", "firstname", "lastname", "phone"];
        assert_eq!(nearest("fistname", properties), Some("firstname"));
        assert_eq!(nearest("FirstName", properties), Some("firstname"));
        assert_eq!(nearest("first_name", properties), Some("firstname"));
        assert_eq!(nearest("emial", properties), Some("email"));
        assert_eq!(
            nearest("contatcs", ["contacts", "companies"]),
            Some("contacts")
        );
        assert_eq!(nearest("sandbx", ["sandbox"]), Some("sandbox"));
        assert_eq!(
            nearest("upsrt", ["create", "update", "upsert", "archive"]),
            Some("upsert")
        );
    }

    #[test]
    fn far_names_and_exact_names_suggest_nothing() {
        assert_eq!(nearest("zzz", ["email", "phone"]), None);
        assert_eq!(nearest("tickets", ["contacts", "deals"]), None);
        assert_eq!(nearest("email", ["email"]), None, "no suggestion of itself");
        assert_eq!(nearest("", ["email"]), None);
        assert_eq!(did_you_mean("zzz", ["email"]), "");
        assert_eq!(
            did_you_mean("emial", ["email"]),
            " (did you mean \"email\"?)"
        );
    }

    #[test]
    fn ties_go_to_the_first_in_sorted_order() {
        assert_eq!(nearest("cat", ["hat", "bat"]), Some("bat"));
        assert_eq!(nearest("cat", ["bat", "hat"]), Some("bat"));
    }
}
