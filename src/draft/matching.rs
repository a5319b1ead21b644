//! Columns matched to properties, the way HubSpot's import screen auto-maps, in tiers from sure
//! to likely: the property's name or label exactly; the same once case, spaces and punctuation are
//! ignored; a known alias (`Birthday` → `date_of_birth`); the label without the object's own word
//! (`Stage` → "Deal Stage"); the object's own word for its name property (`Deal` → `dealname`);
//! the column's words all within one label's (`Employees` → "Number of Employees"); a typo by edit
//! distance. Each property takes at most one column, the surest first.

use std::collections::HashSet;

use crate::config::suggestion::fold;
use crate::portal::schema::{ObjectSchema, PropertySchema};

/// Known aliases: a property, and column names (folded) that mean it in exports from other tools.
const ALIASES: &[(&str, &[&str])] = &[
    ("email", &["emailaddress", "mail", "emailid"]),
    ("firstname", &["first", "givenname", "forename"]),
    ("lastname", &["last", "surname", "familyname"]),
    ("date_of_birth", &["birthday", "birthdate", "dob", "born"]),
    (
        "mobilephone",
        &["mobile", "cell", "cellphone", "mobilenumber"],
    ),
    ("phone", &["telephone", "tel", "phonenumber", "workphone"]),
    ("jobtitle", &["title", "position", "role"]),
    (
        "company",
        &["organisation", "organization", "employer", "companyname"],
    ),
    ("website", &["url", "web", "homepage", "site"]),
    ("zip", &["zipcode", "postcode", "postalcode"]),
    ("state", &["province", "region", "county"]),
    ("address", &["street", "streetaddress", "address1"]),
    ("numberofemployees", &["headcount", "staff"]),
    ("annualrevenue", &["revenue", "turnover"]),
    ("domain", &["domainname", "companydomain"]),
    ("closedate", &["closed", "closingdate", "expectedclose"]),
    ("amount", &["value", "dealvalue", "dealamount"]),
];

/// The property a record's name lives in, by object type (a column named after the object itself,
/// such as `Deal` or `Company`, holds it).
const NAME_PROPERTIES: &[(&str, &str, &str)] = &[
    ("deals", "deal", "dealname"),
    ("companies", "company", "name"),
    ("tickets", "ticket", "subject"),
    ("products", "product", "name"),
    ("line_items", "lineitem", "name"),
];

/// How sure a match is, best first; the reason is written beside the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// The column is the property's name or label.
    Exact,
    /// The same once case, spaces and punctuation are ignored.
    Folded,
    /// A known alias of the property.
    Alias,
    /// The label without the object's own word ("Deal Stage" for `Stage`).
    Unprefixed,
    /// The object's own word names its name property (`Deal` → `dealname`).
    ObjectName,
    /// Every word of the column is a word of the label, and of no other label.
    Words,
    /// A typo: close by edit distance.
    Typo,
}

impl Tier {
    /// Why the column was mapped to this property, for the comment beside it.
    pub fn reason(self, property: &PropertySchema) -> String {
        let label = &property.label;
        match self {
            Tier::Exact | Tier::Folded => format!("label {label:?}"),
            Tier::Alias => format!("a usual name for {label:?}"),
            Tier::Unprefixed => format!("label {label:?}"),
            Tier::ObjectName => format!("the record's name ({label:?})"),
            Tier::Words => format!("its words are in label {label:?}"),
            Tier::Typo => format!("close to {label:?}; check it"),
        }
    }
}

/// A column matched to a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the column in the header.
    pub column: usize,
    pub property: String,
    pub tier: Tier,
}

/// The columns matched, in header order, and those left out with their nearest properties.
#[derive(Debug, Default)]
pub struct Matching {
    pub matched: Vec<Match>,
    /// Columns no property matched, each with up to three nearest properties.
    pub left_out: Vec<(usize, Vec<String>)>,
}

/// The least similarity (normalized Damerau–Levenshtein on folded names) taken for a typo.
const TYPO: f64 = 0.8;

/// Matches `header` to the properties of `schema` a write may set (and `hs_object_id`, which an
/// update or archive takes its record ids from).
pub fn match_columns(header: &[String], schema: &ObjectSchema) -> Matching {
    let mut properties: Vec<&PropertySchema> = schema
        .properties
        .values()
        .filter(|p| p.writable() || p.name == "hs_object_id")
        .collect();
    properties.sort_by(|a, b| a.name.cmp(&b.name));
    let object_word = object_word(&schema.object);
    // Every (tier, similarity, column, property) candidate, best first.
    let mut candidates = Vec::new();
    for (c, column) in header.iter().enumerate() {
        for p in &properties {
            if let Some(tier) = tier(column, p, &object_word, &schema.object, &properties) {
                candidates.push((tier, c, p.name.clone()));
            }
        }
    }
    candidates.sort_by_key(|c| (c.0, c.1));
    let mut taken_columns = HashSet::new();
    let mut taken_properties = HashSet::new();
    let mut matched = Vec::new();
    for (tier, column, property) in candidates {
        if taken_columns.contains(&column) || taken_properties.contains(&property) {
            continue;
        }
        taken_columns.insert(column);
        taken_properties.insert(property.clone());
        matched.push(Match {
            column,
            property,
            tier,
        });
    }
    matched.sort_by_key(|m| m.column);
    let left_out = (0..header.len())
        .filter(|c| !taken_columns.contains(c))
        .map(|c| (c, nearest(&header[c], &properties, &taken_properties)))
        .collect();
    Matching { matched, left_out }
}

/// The object type's own word, singular and folded (`deals` → `deal`), for labels that repeat it.
fn object_word(object: &str) -> String {
    let folded = fold(object);
    match folded.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => folded.strip_suffix('s').unwrap_or(&folded).to_string(),
    }
}

/// The words of a name, lowercase.
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How `column` matches property `p`, if it does.
fn tier(
    column: &str,
    p: &PropertySchema,
    object_word: &str,
    object: &str,
    all: &[&PropertySchema],
) -> Option<Tier> {
    if column == p.name || column == p.label {
        return Some(Tier::Exact);
    }
    let folded = fold(column);
    if folded.is_empty() {
        return None;
    }
    if folded == fold(&p.name) || folded == fold(&p.label) {
        return Some(Tier::Folded);
    }
    if ALIASES
        .iter()
        .any(|(name, aliases)| *name == p.name && aliases.contains(&folded.as_str()))
    {
        return Some(Tier::Alias);
    }
    let label_words = words(&p.label);
    let unprefixed: String = label_words
        .iter()
        .filter(|w| *w != object_word)
        .cloned()
        .collect();
    if !unprefixed.is_empty() && unprefixed.len() < fold(&p.label).len() && folded == unprefixed {
        return Some(Tier::Unprefixed);
    }
    if folded == object_word
        && NAME_PROPERTIES
            .iter()
            .any(|(o, _, name)| fold(o) == fold(object) && *name == p.name)
    {
        return Some(Tier::ObjectName);
    }
    let column_words = words(column);
    let within = |label: &str| {
        let label: HashSet<String> = words(label).into_iter().collect();
        column_words.len() < label.len() && column_words.iter().all(|w| label.contains(w))
    };
    if !column_words.is_empty()
        && within(&p.label)
        && all.iter().filter(|q| within(&q.label)).count() == 1
    {
        return Some(Tier::Words);
    }
    (similarity(&folded, p) >= TYPO).then_some(Tier::Typo)
}

/// How alike a folded column name is to a property's name or label, 0 to 1.
fn similarity(folded: &str, p: &PropertySchema) -> f64 {
    let name = strsim::normalized_damerau_levenshtein(folded, &fold(&p.name));
    let label = strsim::normalized_damerau_levenshtein(folded, &fold(&p.label));
    name.max(label)
}

/// Up to three properties (not yet mapped) most like `column`, most alike first.
fn nearest(column: &str, properties: &[&PropertySchema], taken: &HashSet<String>) -> Vec<String> {
    let folded = fold(column);
    let mut scored: Vec<(i64, &str)> = properties
        .iter()
        .filter(|p| p.writable() && !taken.contains(&p.name))
        .map(|p| (-(similarity(&folded, p) * 1000.0) as i64, p.name.as_str()))
        .filter(|(score, _)| *score <= -400)
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(object: &str, props: &[(&str, &str)]) -> ObjectSchema {
        let results: Vec<String> = props
            .iter()
            .map(|(name, label)| {
                format!(
                    r#"{{"name":"{name}","label":"{label}","type":"string","fieldType":"text"}}"#
                )
            })
            .collect();
        let json = format!(r#"{{"results":[{}]}}"#, results.join(","));
        ObjectSchema::from_json(object, json.as_bytes()).unwrap()
    }

    fn mapped(header: &[&str], schema: &ObjectSchema) -> Vec<(String, String, Tier)> {
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        match_columns(&header, schema)
            .matched
            .into_iter()
            .map(|m| (header[m.column].clone(), m.property, m.tier))
            .collect()
    }

    #[test]
    fn contacts_columns_map_by_label_case_and_alias() {
        let contacts = schema(
            "contacts",
            &[
                ("email", "Email"),
                ("firstname", "First Name"),
                ("lastname", "Last Name"),
                ("phone", "Phone Number"),
                ("company", "Company Name"),
                ("date_of_birth", "Date of birth"),
                ("hs_lead_status", "Lead Status"),
            ],
        );
        let got = mapped(
            &[
                "Email",
                "first name",
                "Last_Name",
                "Phone",
                "Company",
                "Birthday",
                "Lead Status",
                "Notes",
            ],
            &contacts,
        );
        assert_eq!(
            got,
            vec![
                ("Email".into(), "email".into(), Tier::Exact),
                ("first name".into(), "firstname".into(), Tier::Folded),
                ("Last_Name".into(), "lastname".into(), Tier::Folded),
                ("Phone".into(), "phone".into(), Tier::Folded),
                ("Company".into(), "company".into(), Tier::Folded),
                ("Birthday".into(), "date_of_birth".into(), Tier::Alias),
                ("Lead Status".into(), "hs_lead_status".into(), Tier::Exact),
            ]
        );
    }

    #[test]
    fn deals_columns_use_the_object_word_and_label_words() {
        let deals = schema(
            "deals",
            &[
                ("dealname", "Deal Name"),
                ("dealstage", "Deal Stage"),
                ("dealtype", "Deal Type"),
                ("amount", "Amount"),
                ("closedate", "Close Date"),
                ("numberofemployees", "Number of Employees"),
            ],
        );
        let got = mapped(
            &["Deal", "Stage", "Close Date", "Employees", "Owner Email"],
            &deals,
        );
        assert_eq!(
            got,
            vec![
                ("Deal".into(), "dealname".into(), Tier::ObjectName),
                ("Stage".into(), "dealstage".into(), Tier::Unprefixed),
                ("Close Date".into(), "closedate".into(), Tier::Exact),
                ("Employees".into(), "numberofemployees".into(), Tier::Words),
            ]
        );
    }

    #[test]
    fn typos_map_and_unknown_columns_are_left_out_with_their_nearest() {
        let contacts = schema(
            "contacts",
            &[("email", "Email"), ("firstname", "First Name")],
        );
        let header: Vec<String> = ["Frist Name", "Emial", "Zzzz"].map(String::from).to_vec();
        let matching = match_columns(&header, &contacts);
        let got: Vec<(usize, &str, Tier)> = matching
            .matched
            .iter()
            .map(|m| (m.column, m.property.as_str(), m.tier))
            .collect();
        assert_eq!(
            got,
            vec![(0, "firstname", Tier::Typo), (1, "email", Tier::Typo)]
        );
        assert_eq!(matching.left_out, vec![(2, Vec::<String>::new())]);
    }

    #[test]
    fn one_property_takes_the_surest_column() {
        let contacts = schema("contacts", &[("email", "Email")]);
        let got = mapped(&["E-mail", "Email"], &contacts);
        assert_eq!(got, vec![("Email".into(), "email".into(), Tier::Exact)]);
    }

    #[test]
    fn object_words() {
        assert_eq!(object_word("deals"), "deal");
        assert_eq!(object_word("companies"), "company");
        assert_eq!(object_word("line_items"), "lineitem");
    }
}
