//! A map that knows which of its keys changed since it was last saved, so
//! the sim's store writes only those (state::Store) and a call costs the
//! same with ten jails or ten thousand. Reads go through `Deref` to the
//! map; every way to change it marks the keys it touches.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked<K: Ord, V> {
    map: BTreeMap<K, V>,
    touched: BTreeSet<K>,
}

impl<K: Ord, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Tracked { map: BTreeMap::new(), touched: BTreeSet::new() }
    }
}

impl<K: Ord + Clone, V> Tracked<K, V> {
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        let v = self.map.get_mut(k)?;
        self.touched.insert(k.to_owned());
        Some(v)
    }

    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.touched.insert(k.clone());
        self.map.insert(k, v)
    }

    pub fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        let v = self.map.remove(k)?;
        self.touched.insert(k.to_owned());
        Some(v)
    }

    /// The value of `k`, made with `make` when there is none.
    pub fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        self.touched.insert(k.clone());
        self.map.entry(k).or_insert_with(make)
    }

    /// Every value, mutably: every key counts as touched.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.touched.extend(self.map.keys().cloned());
        self.map.values_mut()
    }

    /// The keys changed since the last call, each with its value now
    /// (None: removed).
    pub fn take_changes(&mut self) -> BTreeMap<K, Option<&V>> {
        let touched = std::mem::take(&mut self.touched);
        touched
            .into_iter()
            .map(|k| {
                let v = self.map.get(&k);
                (k, v)
            })
            .collect()
    }

    /// Applies changes another process saved.
    pub fn apply(&mut self, changes: BTreeMap<K, Option<V>>) {
        for (k, v) in changes {
            match v {
                Some(v) => self.map.insert(k, v),
                None => self.map.remove(&k),
            };
        }
    }
}

impl<K: Ord, V> Deref for Tracked<K, V> {
    type Target = BTreeMap<K, V>;
    fn deref(&self) -> &BTreeMap<K, V> {
        &self.map
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for Tracked<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Tracked { map: iter.into_iter().collect(), touched: BTreeSet::new() }
    }
}

impl<K: Ord + Serialize, V: Serialize> Serialize for Tracked<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Tracked<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Tracked { map: BTreeMap::deserialize(d)?, touched: BTreeSet::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_is_reported_once() {
        let mut t: Tracked<u32, &str> = [(1, "a"), (2, "b")].into_iter().collect();
        assert!(t.take_changes().is_empty());
        t.insert(3, "c");
        if let Some(v) = t.get_mut(&1) {
            *v = "A";
        }
        t.remove(&2);
        t.remove(&9);
        let changes: Vec<(u32, Option<&str>)> = t.take_changes().into_iter().map(|(k, v)| (k, v.copied())).collect();
        assert_eq!(changes, vec![(1, Some("A")), (2, None), (3, Some("c"))]);
        assert!(t.take_changes().is_empty());
        let mut other: Tracked<u32, &str> = [(1, "a"), (2, "b")].into_iter().collect();
        other.apply(changes.into_iter().collect());
        assert_eq!(*other, *t);
    }
}
