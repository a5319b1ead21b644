//! HubSpot's default association types (API-NOTES §7, category `HUBSPOT_DEFINED`), by direction. The
//! links themselves live in `links.rs`; labels a portal creates, in `labels.rs`.

/// `(type A, type B, A→B id, B→A id, label)`, types by singular name. Direction matters.
type Row = (
    &'static str,
    &'static str,
    u32,
    Option<u32>,
    Option<&'static str>,
);

const DEFAULTS: &[Row] = &[
    ("contact", "company", 279, Some(280), None),
    ("contact", "company", 1, Some(2), Some("Primary")),
    ("deal", "company", 341, Some(342), None),
    ("deal", "company", 5, Some(6), Some("Primary")),
    ("ticket", "company", 339, Some(340), None),
    ("ticket", "company", 26, Some(25), Some("Primary")),
    ("contact", "deal", 4, Some(3), None),
    ("contact", "ticket", 15, Some(16), None),
    ("deal", "ticket", 27, Some(28), None),
    ("deal", "line_item", 19, Some(20), None),
    ("contact", "contact", 449, Some(449), None),
    ("company", "company", 450, Some(450), None),
    ("deal", "deal", 451, Some(451), None),
    ("ticket", "ticket", 452, Some(452), None),
    ("company", "company", 13, Some(14), Some("Child Company")),
    ("note", "contact", 202, Some(201), None),
    ("note", "company", 190, Some(189), None),
    ("note", "deal", 214, Some(213), None),
    ("note", "ticket", 228, Some(227), None),
    ("meeting", "contact", 200, Some(199), None),
    ("meeting", "company", 188, Some(187), None),
    ("meeting", "deal", 212, Some(211), None),
    ("meeting", "ticket", 226, Some(225), None),
    ("call", "contact", 194, Some(193), None),
    ("call", "company", 182, Some(181), None),
    ("call", "deal", 206, Some(205), None),
    ("call", "ticket", 220, Some(219), None),
    ("email", "contact", 198, Some(197), None),
    ("email", "company", 186, Some(185), None),
    ("email", "deal", 210, Some(209), None),
    ("email", "ticket", 224, Some(223), None),
    ("task", "contact", 204, Some(203), None),
    ("task", "company", 192, Some(191), None),
    ("task", "deal", 216, Some(215), None),
    ("task", "ticket", 230, Some(229), None),
    ("communication", "contact", 81, Some(82), None),
    ("communication", "company", 87, Some(88), None),
    ("communication", "deal", 85, Some(86), None),
    ("communication", "ticket", 83, Some(84), None),
    ("postal_mail", "contact", 453, Some(454), None),
    ("postal_mail", "company", 459, Some(460), None),
    ("postal_mail", "deal", 457, Some(458), None),
    ("postal_mail", "ticket", 455, Some(456), None),
    ("quote", "contact", 69, Some(70), None),
    ("quote", "company", 71, Some(72), None),
    ("quote", "deal", 64, Some(63), None),
    ("quote", "line_item", 67, Some(68), None),
    ("lead", "contact", 608, Some(609), None),
    ("lead", "company", 610, Some(611), None),
    ("lead", "contact", 578, None, Some("Primary")),
    ("lead", "company", 580, None, Some("Primary")),
];

/// One directed default association type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssocType {
    pub from: &'static str,
    pub to: &'static str,
    pub type_id: u32,
    /// The id of the same association seen from the other side.
    pub inverse: Option<u32>,
    pub label: Option<&'static str>,
}

/// Every directed default type (each table row read both ways).
pub fn directed() -> impl Iterator<Item = AssocType> {
    DEFAULTS.iter().flat_map(|&(a, b, ab, ba, label)| {
        let forward = AssocType {
            from: a,
            to: b,
            type_id: ab,
            inverse: ba,
            label: if a == b && ab == 13 {
                Some("Parent Company")
            } else {
                label
            },
        };
        let backward = ba.filter(|ba| *ba != ab).map(|ba| AssocType {
            from: b,
            to: a,
            type_id: ba,
            inverse: Some(ab),
            label,
        });
        std::iter::once(forward).chain(backward)
    })
}

/// The default types from one type to another (singular names).
pub fn between(from: &str, to: &str) -> Vec<AssocType> {
    directed()
        .filter(|t| t.from == from && t.to == to)
        .collect()
}

/// A default type by its source type and id.
pub fn lookup(from: &str, type_id: u32) -> Option<AssocType> {
    directed().find(|t| t.from == from && t.type_id == type_id)
}

/// The v3 name of a type (`contact_to_company`, `contact_to_company_unlabeled`), also accepted in the
/// v3 association paths in place of the numeric id.
pub fn v3_name(t: &AssocType) -> String {
    let base = format!("{}_to_{}", t.from, t.to);
    let pair = between(t.from, t.to);
    if pair.len() < 2 {
        return base;
    }
    match t.label {
        Some("Primary") => base,
        Some(label) => label.to_lowercase().replace(' ', "_"),
        None => format!("{base}_unlabeled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_and_inverses() {
        let t = lookup("contact", 279).unwrap();
        assert_eq!((t.to, t.inverse), ("company", Some(280)));
        let back = lookup("company", 280).unwrap();
        assert_eq!((back.to, back.inverse), ("contact", Some(279)));
        assert_eq!(lookup("company", 2).unwrap().label, Some("Primary"));
        assert!(lookup("contact", 9999).is_none());
        assert_eq!(lookup("contact", 449).unwrap().inverse, Some(449));
    }

    #[test]
    fn v3_names() {
        assert_eq!(
            v3_name(&lookup("contact", 1).unwrap()),
            "contact_to_company"
        );
        assert_eq!(
            v3_name(&lookup("contact", 279).unwrap()),
            "contact_to_company_unlabeled"
        );
        assert_eq!(v3_name(&lookup("note", 202).unwrap()), "note_to_contact");
    }
}
