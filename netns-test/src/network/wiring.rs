//! How a network is wired, as the failure snapshot shows it.

use std::sync::Arc;

use super::{Cable, Impairments};

/// A network's veth pairs and the impairments of their ends; see
/// [`Network::wiring`].
#[derive(Debug)]
pub(crate) struct Wiring {
    pub(super) links: Arc<[Cable]>,
    pub(super) impaired: Impairments,
}

impl Wiring {
    /// A line per veth pair, with any impairment of its ends.
    pub(crate) fn lines(&self) -> Vec<String> {
        let impaired = self.impaired.lock().unwrap_or_else(|e| e.into_inner());
        let note = |end: &(String, String)| {
            impaired
                .iter()
                .find(|(at, _)| at == end)
                .map(|(_, what)| format!(" [{} {}: {what}]", end.0, end.1))
                .unwrap_or_default()
        };
        self.links
            .iter()
            .map(|cable| {
                let lan = if cable.to_port { "LAN " } else { "" };
                format!(
                    "{} {} <-> {lan}{} {}{}{}",
                    cable.a.0,
                    cable.a.1,
                    cable.b.0,
                    cable.b.1,
                    note(&cable.a),
                    note(&cable.b)
                )
            })
            .collect()
    }
}
