//! The rules on the characters of a text value: length, which characters, whitespace, letter case,
//! and a regular expression. Each check answers `Err(why)` in words a person can act on.
//!
//! Whitespace is Unicode `White_Space`, letters Unicode `Alphabetic`, digits ASCII unless said
//! otherwise (docs/sandbox-versions.md, "Rule types, exactly").

use regex::Regex;

/// A value's length as HubSpot counts it: UTF-16 code units, as Java and JavaScript count
/// `length` (`é` and `中` count 1, most emoji 2).
pub fn length(value: &str) -> usize {
    value.encode_utf16().count()
}

/// `MIN_LENGTH`.
pub fn min_length(value: &str, min: usize) -> Result<(), String> {
    let n = length(value);
    if n >= min {
        Ok(())
    } else {
        Err(format!("is {n} characters long, shorter than {min}"))
    }
}

/// `MAX_LENGTH`.
pub fn max_length(value: &str, max: usize) -> Result<(), String> {
    let n = length(value);
    if n <= max {
        Ok(())
    } else {
        Err(format!("is {n} characters long, longer than {max}"))
    }
}

/// What `ALPHANUMERIC` lets through (whitespace always passes: `WHITESPACE` is the rule about it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Characters {
    /// `ALPHA_ONLY`: letters of every script.
    Letters,
    /// `NUMERIC_ONLY`: ASCII digits.
    Digits,
    /// `ALPHANUMERIC`: either.
    LettersAndDigits,
}

impl Characters {
    /// The rule's argument.
    pub fn parse(argument: &str) -> Option<Characters> {
        match argument {
            "ALPHA_ONLY" => Some(Characters::Letters),
            "NUMERIC_ONLY" => Some(Characters::Digits),
            "ALPHANUMERIC" => Some(Characters::LettersAndDigits),
            _ => None,
        }
    }

    fn allows(self, c: char) -> bool {
        match self {
            Characters::Letters => c.is_alphabetic(),
            Characters::Digits => c.is_ascii_digit(),
            Characters::LettersAndDigits => c.is_alphabetic() || c.is_ascii_digit(),
        }
    }

    /// `ALPHANUMERIC`.
    pub fn check(self, value: &str) -> Result<(), String> {
        match value
            .chars()
            .find(|&c| !c.is_whitespace() && !self.allows(c))
        {
            None => Ok(()),
            Some(c) => {
                let only = match self {
                    Characters::Letters => "letters",
                    Characters::Digits => "digits",
                    Characters::LettersAndDigits => "letters and digits",
                };
                Err(format!("has {c:?}: only {only} are allowed"))
            }
        }
    }
}

/// `SPECIAL_CHARACTERS` (`NOT_ALLOWED`): letters, numeric characters and whitespace only.
pub fn no_special_characters(value: &str) -> Result<(), String> {
    match value
        .chars()
        .find(|&c| !(c.is_alphabetic() || c.is_numeric() || c.is_whitespace()))
    {
        None => Ok(()),
        Some(c) => Err(format!("has the special character {c:?}")),
    }
}

/// `WHITESPACE`: none at all (`ALL`, the default), or none around the value (`TRIM`).
pub fn whitespace(value: &str, trim_only: bool) -> Result<(), String> {
    if trim_only {
        if value.trim() == value {
            Ok(())
        } else {
            Err("has leading or trailing whitespace".into())
        }
    } else if value.chars().any(char::is_whitespace) {
        Err("has whitespace".into())
    } else {
        Ok(())
    }
}

/// `FORMAT`: the letter case a value must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `UPPER`: no lower-case letter.
    Upper,
    /// `LOWER`: no upper-case letter.
    Lower,
    /// `CAPITALIZATION`: every whitespace-separated word starts with a letter that is not lower-case.
    Capitalized,
}

impl Case {
    /// The rule's argument.
    pub fn parse(argument: &str) -> Option<Case> {
        match argument {
            "UPPER" => Some(Case::Upper),
            "LOWER" => Some(Case::Lower),
            "CAPITALIZATION" => Some(Case::Capitalized),
            _ => None,
        }
    }

    /// `FORMAT`.
    pub fn check(self, value: &str) -> Result<(), String> {
        let broken = match self {
            Case::Upper => value.chars().any(char::is_lowercase),
            Case::Lower => value.chars().any(char::is_uppercase),
            Case::Capitalized => value
                .split_whitespace()
                .any(|word| word.chars().next().is_some_and(char::is_lowercase)),
        };
        if !broken {
            return Ok(());
        }
        Err(match self {
            Case::Upper => "has lower-case letters".into(),
            Case::Lower => "has upper-case letters".into(),
            Case::Capitalized => "has a word that starts with a lower-case letter".into(),
        })
    }
}

/// `REGEX`: the pattern must match somewhere in the value (a search: the rule anchors with `^…$`
/// when it means the whole value).
pub fn regex(value: &str, pattern: &Regex, message: Option<&str>) -> Result<(), String> {
    if pattern.is_match(value) {
        return Ok(());
    }
    Err(match message {
        Some(message) => format!("does not match {}: {message}", pattern.as_str()),
        None => format!("does not match {}", pattern.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_utf16_code_units() {
        assert_eq!(length("Zoë"), 3);
        assert_eq!(length("中文"), 2);
        assert_eq!(length("👍"), 2);
        assert!(min_length("abc", 3).is_ok() && min_length("ab", 3).is_err());
        assert!(max_length("abcd", 4).is_ok());
        let why = max_length("a👍bc", 4).unwrap_err();
        assert!(why.contains("5 characters"), "{why}");
    }

    #[test]
    fn which_characters() {
        assert!(Characters::Letters.check("Zoë 中文").is_ok());
        assert!(Characters::Letters.check("R2D2").is_err());
        assert!(Characters::Digits.check("02139 ").is_ok());
        assert!(Characters::Digits.check("٣").is_err(), "ASCII digits only");
        assert!(Characters::LettersAndDigits.check("R2 D2").is_ok());
        let why = Characters::LettersAndDigits.check("R2-D2").unwrap_err();
        assert!(why.contains("'-'"), "{why}");
        assert_eq!(Characters::parse("ALPHA"), None);
    }

    #[test]
    fn special_characters_whitespace_and_case() {
        assert!(no_special_characters("Zoë 42 ٣").is_ok());
        for bad in ["a-b", "a.b", "a&b", "a@b"] {
            assert!(no_special_characters(bad).is_err(), "{bad}");
        }
        assert!(whitespace("ab", false).is_ok() && whitespace("a b", false).is_err());
        assert!(whitespace("a b", true).is_ok() && whitespace(" ab", true).is_err());
        assert!(whitespace("ab\u{a0}", true).is_err(), "Unicode whitespace");
        assert!(Case::Upper.check("ACME 42").is_ok() && Case::Upper.check("Acme").is_err());
        assert!(Case::Lower.check("acme").is_ok() && Case::Lower.check("aCme").is_err());
        assert!(Case::Capitalized.check("Ada McLovelace 3rd").is_ok());
        assert!(Case::Capitalized.check("Ada lovelace").is_err());
    }

    #[test]
    fn regex_searches() {
        let zip = Regex::new("[0-9]{5}").unwrap();
        assert!(regex("MA 02139", &zip, None).is_ok(), "unanchored");
        let whole = Regex::new("^[0-9]{5}$").unwrap();
        let why = regex("MA 02139", &whole, Some("five digits")).unwrap_err();
        assert!(why.ends_with(": five digits"), "{why}");
    }
}
