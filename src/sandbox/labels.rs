//! Association types as every association endpoint sees them: HubSpot's defaults (`associations.rs`,
//! category `HUBSPOT_DEFINED`) plus the `USER_DEFINED` labels a portal creates at run time
//! (`POST /crm/v4/associations/{from}/{to}/labels`). One resolver answers "is type N valid from A to B in
//! this category", "what is the pair's default", and "how is stored type N described".
//!
//! A label is created in both directions at once, as HubSpot does: ids `N` (from → to) and `N + 1`
//! (to → from). User ids start at 1000, above every default id, so a stored type id alone tells which
//! table describes it.

use super::associations::{self, AssocType};
use super::objects::ObjectType;

/// The first id handed to a created label.
const FIRST_USER_TYPE_ID: u32 = 1000;

/// An association category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    HubSpotDefined,
    UserDefined,
}

impl Category {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::HubSpotDefined => "HUBSPOT_DEFINED",
            Category::UserDefined => "USER_DEFINED",
        }
    }

    /// Reads a wire name (case-insensitive); other categories (`INTEGRATOR_DEFINED`, `WORK`) have no
    /// types in the sandbox.
    pub fn parse(text: &str) -> Option<Category> {
        if text.eq_ignore_ascii_case("HUBSPOT_DEFINED") {
            Some(Category::HubSpotDefined)
        } else if text.eq_ignore_ascii_case("USER_DEFINED") {
            Some(Category::UserDefined)
        } else {
            None
        }
    }
}

/// One directed association type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    pub category: Category,
    pub type_id: u32,
    /// The same association seen from the other end.
    pub inverse: Option<u32>,
    /// `None` for unlabeled types.
    pub label: Option<String>,
    /// The v3 name (`contact_to_company_unlabeled`, or a label's internal name).
    pub name: String,
}

impl Kind {
    fn hubspot(t: &AssocType) -> Kind {
        Kind {
            category: Category::HubSpotDefined,
            type_id: t.type_id,
            inverse: t.inverse,
            label: t.label.map(str::to_owned),
            name: associations::v3_name(t),
        }
    }
}

#[derive(Debug, Clone)]
struct UserLabel {
    from: usize,
    to: usize,
    type_id: u32,
    inverse: u32,
    label: String,
    name: String,
}

impl UserLabel {
    fn kind(&self) -> Kind {
        Kind {
            category: Category::UserDefined,
            type_id: self.type_id,
            inverse: Some(self.inverse),
            label: Some(self.label.clone()),
            name: self.name.clone(),
        }
    }
}

/// Where a type id leads from a given type: a standard type by singular name, or a type by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    Singular(&'static str),
    Index(usize),
}

/// The labels a portal created.
#[derive(Debug)]
pub struct Labels {
    list: Vec<UserLabel>,
    next_id: u32,
}

impl Default for Labels {
    fn default() -> Labels {
        Labels {
            list: Vec::new(),
            next_id: FIRST_USER_TYPE_ID,
        }
    }
}

impl Labels {
    /// Creates label `name` from `from` to `to` (and its inverse, labelled `inverse_label` or `label`);
    /// answers both kinds, forward first. `Err` when the pair already has a label of that name.
    pub fn create(
        &mut self,
        from: &ObjectType,
        to: &ObjectType,
        name: &str,
        label: &str,
        inverse_label: Option<&str>,
    ) -> Result<[Kind; 2], String> {
        if self
            .list
            .iter()
            .any(|l| l.from == from.index && l.to == to.index && l.name == name)
        {
            return Err(name.to_owned());
        }
        let (id, back) = (self.next_id, self.next_id + 1);
        self.next_id += 2;
        let forward = UserLabel {
            from: from.index,
            to: to.index,
            type_id: id,
            inverse: back,
            label: label.to_owned(),
            name: name.to_owned(),
        };
        let backward = UserLabel {
            from: to.index,
            to: from.index,
            type_id: back,
            inverse: id,
            label: inverse_label.unwrap_or(label).to_owned(),
            name: name.to_owned(),
        };
        let kinds = [forward.kind(), backward.kind()];
        self.list.extend([forward, backward]);
        Ok(kinds)
    }

    /// Every type from `from` to `to`: HubSpot's first, then the portal's labels.
    pub fn kinds(&self, from: &ObjectType, to: &ObjectType) -> Vec<Kind> {
        associations::between(&from.singular, &to.singular)
            .iter()
            .map(Kind::hubspot)
            .chain(self.user(from, to).map(UserLabel::kind))
            .collect()
    }

    /// Type `type_id` of `category` from `from` to `to`, if it is one.
    pub fn find(
        &self,
        from: &ObjectType,
        to: &ObjectType,
        category: Category,
        type_id: u32,
    ) -> Option<Kind> {
        match category {
            Category::HubSpotDefined => associations::between(&from.singular, &to.singular)
                .iter()
                .find(|t| t.type_id == type_id)
                .map(Kind::hubspot),
            Category::UserDefined => self
                .user(from, to)
                .find(|l| l.type_id == type_id)
                .map(UserLabel::kind),
        }
    }

    /// Type `type_id` of `category` from `from`, and where it leads (the associations of a create name
    /// only the target record's id: the type says which type that record is).
    pub fn leading(
        &self,
        from: &ObjectType,
        category: Category,
        type_id: u32,
    ) -> Option<(To, Kind)> {
        match category {
            Category::HubSpotDefined => associations::lookup(&from.singular, type_id)
                .map(|t| (To::Singular(t.to), Kind::hubspot(&t))),
            Category::UserDefined => self
                .list
                .iter()
                .find(|l| l.from == from.index && l.type_id == type_id)
                .map(|l| (To::Index(l.to), l.kind())),
        }
    }

    /// How a stored type id from `from` to `to` is described (any category).
    pub fn describe(&self, from: &ObjectType, to: &ObjectType, type_id: u32) -> Option<Kind> {
        self.find(from, to, Category::HubSpotDefined, type_id)
            .or_else(|| self.find(from, to, Category::UserDefined, type_id))
    }

    /// The pair's default: its unlabeled `HUBSPOT_DEFINED` type (none for pairs §7 does not list).
    pub fn default_kind(from: &ObjectType, to: &ObjectType) -> Option<Kind> {
        associations::between(&from.singular, &to.singular)
            .iter()
            .find(|t| t.label.is_none())
            .map(Kind::hubspot)
    }

    /// Forgets every label (`/_sandbox/reset`).
    pub fn clear(&mut self) {
        *self = Labels::default();
    }

    fn user<'a>(
        &'a self,
        from: &'a ObjectType,
        to: &'a ObjectType,
    ) -> impl Iterator<Item = &'a UserLabel> {
        self.list
            .iter()
            .filter(|l| l.from == from.index && l.to == to.index)
    }
}

#[cfg(test)]
mod tests {
    use super::super::registry::Registry;
    use super::*;

    #[test]
    fn labels_come_in_pairs_beside_the_defaults() {
        let reg = Registry::new(1, None).unwrap();
        let (contacts, companies) = (
            reg.resolve("contacts").unwrap(),
            reg.resolve("companies").unwrap(),
        );
        let mut labels = Labels::default();
        let [forward, backward] = labels
            .create(
                &contacts,
                &companies,
                "manager",
                "Manager",
                Some("Managed by"),
            )
            .unwrap();
        assert_eq!((forward.type_id, forward.inverse), (1000, Some(1001)));
        assert_eq!(backward.label.as_deref(), Some("Managed by"));
        assert!(
            labels
                .create(&contacts, &companies, "manager", "M", None)
                .is_err()
        );
        let kinds = labels.kinds(&contacts, &companies);
        assert_eq!(kinds.first().unwrap().type_id, 279);
        assert_eq!(kinds.last().unwrap(), &forward);
        assert_eq!(
            labels.find(&contacts, &companies, Category::UserDefined, 1000),
            Some(forward.clone())
        );
        assert!(
            labels
                .find(&contacts, &companies, Category::HubSpotDefined, 1000)
                .is_none()
        );
        assert!(
            labels
                .find(&contacts, &companies, Category::UserDefined, 279)
                .is_none()
        );
        assert!(
            labels
                .find(&companies, &contacts, Category::UserDefined, 1000)
                .is_none()
        );
        assert_eq!(labels.describe(&companies, &contacts, 1001), Some(backward));
        assert_eq!(
            Labels::default_kind(&contacts, &companies).unwrap().type_id,
            279
        );
        assert_eq!(
            Labels::default_kind(&companies, &contacts).unwrap().type_id,
            280
        );
        labels.clear();
        assert!(labels.describe(&contacts, &companies, 1000).is_none());
    }
}
