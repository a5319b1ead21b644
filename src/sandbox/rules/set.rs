//! The portal's rules: a `RuleSet` (rules by object type and property, at most one per rule type, as
//! HubSpot keeps them) and the `RuleBook` that holds the live set beside the start set `/_sandbox/reset`
//! returns to.
//!
//! The live set sits behind an `Arc` swapped under a std lock: a write takes a snapshot (one `Arc` clone)
//! and checks its values without holding any lock, and a `PUT` copies the set before changing it.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::super::properties::PropertyDef;
use super::super::values::Invalid;
use super::kind::RuleType;
use super::rule::Rule;

/// The rules of one property, by type.
pub type PropertyRules = BTreeMap<RuleType, Rule>;

/// Rules keyed by `(object type index, property name)`. Names, not indexes: properties may be added at
/// run time, and a rule names its property as HubSpot's paths do.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: BTreeMap<(usize, String), PropertyRules>,
}

impl RuleSet {
    /// Sets `rule` on a property, replacing a rule of the same type (HubSpot's `PUT` semantics).
    pub fn put(&mut self, type_index: usize, property: &str, rule: Rule) {
        self.rules
            .entry((type_index, property.to_owned()))
            .or_default()
            .insert(rule.rule_type, rule);
    }

    /// The rules of one property (empty when it has none).
    pub fn of_property(&self, type_index: usize, property: &str) -> Option<&PropertyRules> {
        self.rules.get(&(type_index, property.to_owned()))
    }

    /// The properties of a type that have rules, by name.
    pub fn of_type(&self, type_index: usize) -> impl Iterator<Item = (&str, &PropertyRules)> {
        self.rules
            .range((type_index, String::new())..)
            .take_while(move |((t, _), _)| *t == type_index)
            .map(|((_, name), rules)| (name.as_str(), rules))
    }

    /// How many rules, over all properties.
    pub fn len(&self) -> usize {
        self.rules.values().map(BTreeMap::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks a stored value of `def` against its rules, in rule-type order; the first violation wins
    /// (HubSpot reports one error per property).
    pub fn check(
        &self,
        type_index: usize,
        def: &PropertyDef,
        stored: &str,
        now_ms: i64,
    ) -> Result<(), Invalid> {
        if stored.is_empty() {
            return Ok(());
        }
        match self.of_property(type_index, &def.name) {
            Some(rules) => rules.values().try_for_each(|r| r.check(stored, now_ms)),
            None => Ok(()),
        }
    }
}

/// The live rules and the set a reset restores.
#[derive(Debug)]
pub struct RuleBook {
    live: RwLock<Arc<RuleSet>>,
    start: RwLock<Arc<RuleSet>>,
}

impl RuleBook {
    /// A book starting with `start` (the rules file's rules, or none).
    pub fn new(start: RuleSet) -> RuleBook {
        let start = Arc::new(start);
        RuleBook {
            live: RwLock::new(Arc::clone(&start)),
            start: RwLock::new(start),
        }
    }

    /// The live rules, for one request.
    pub fn snapshot(&self) -> Arc<RuleSet> {
        Arc::clone(&self.live.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Sets one rule (`PUT …/rule-type/{ruleType}`).
    pub fn put(&self, type_index: usize, property: &str, rule: Rule) {
        let mut live = self.live.write().unwrap_or_else(PoisonError::into_inner);
        Arc::make_mut(&mut live).put(type_index, property, rule);
    }

    /// Back to the start set (`/_sandbox/reset`).
    pub fn reset(&self) {
        let start = Arc::clone(&self.start.read().unwrap_or_else(PoisonError::into_inner));
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = start;
    }

    /// Replaces both the live and the start set (`/_sandbox/config` with `rules`): as if the sandbox had
    /// been started with these rules.
    pub fn replace(&self, set: RuleSet) {
        let set = Arc::new(set);
        *self.start.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&set);
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = set;
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::properties::PropType;
    use super::super::rule::RuleBody;
    use super::*;

    fn max_length(def: &PropertyDef, n: &str) -> Rule {
        let body = RuleBody {
            rule_arguments: vec![n.to_owned()],
            should_apply_normalization: None,
        };
        Rule::new(def, RuleType::MaxLength, body).unwrap()
    }

    #[test]
    fn put_replaces_a_rule_of_the_same_type() {
        let def = PropertyDef::new("code", "Code", PropType::String);
        let mut set = RuleSet::default();
        set.put(1, "code", max_length(&def, "5"));
        set.put(1, "code", max_length(&def, "2"));
        set.put(2, "code", max_length(&def, "9"));
        assert_eq!(set.len(), 2);
        assert_eq!(set.of_type(1).count(), 1);
        assert_eq!(
            set.check(1, &def, "abc", 0).unwrap_err().code,
            "INVALID_MAX_LENGTH"
        );
        assert!(set.check(2, &def, "abc", 0).is_ok());
        assert!(
            set.check(1, &def, "", 0).is_ok(),
            "clearing is always allowed"
        );
    }

    #[test]
    fn reset_returns_to_the_start_set() {
        let def = PropertyDef::new("code", "Code", PropType::String);
        let book = RuleBook::new(RuleSet::default());
        book.put(0, "code", max_length(&def, "5"));
        assert_eq!(book.snapshot().len(), 1);
        book.reset();
        assert!(book.snapshot().is_empty());
        let mut start = RuleSet::default();
        start.put(0, "code", max_length(&def, "3"));
        book.replace(start);
        book.put(0, "other", max_length(&def, "1"));
        book.reset();
        assert_eq!(book.snapshot().len(), 1);
    }
}
