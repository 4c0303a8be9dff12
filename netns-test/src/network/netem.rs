//! Link impairment with the kernel's `netem` queueing discipline, or `tbf`
//! for a rate limit where netem is missing.
//!
//! `netlink-packet-route` has no netem options, and netem's `TCA_OPTIONS`
//! is not a plain list of attributes anyway: it is a fixed struct
//! (`tc_netem_qopt`) followed by attributes. So the options are encoded here
//! byte by byte, exactly as iproute2's `tc` encodes them (a unit test
//! compares with bytes captured from `tc qdisc add ... netem`), and handed
//! to the crate as an opaque attribute.

use std::time::Duration;

use super::NetworkError;

/// How to impair an interface's outgoing traffic; see
/// [`Network::impair`](super::Network::impair) and
/// [`tc-netem(8)`](https://man7.org/linux/man-pages/man8/tc-netem.8.html).
///
/// ```
/// use netns_test::network::Netem;
/// use std::time::Duration;
///
/// let slow_and_lossy = Netem::new().delay(Duration::from_millis(200)).loss(1.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[must_use]
pub struct Netem {
    delay: Duration,
    jitter: Duration,
    loss: f64,
    duplicate: f64,
    reorder: f64,
    rate: Option<u64>,
}

/// Kernel time unit of netem's struct fields: a "psched tick" is 64 ns
/// (`PSCHED_SHIFT` is 6 in every kernel).
const NS_PER_TICK: u128 = 64;
/// Longest delay or jitter we accept: well within a `u32` of ticks (274 s).
const MAX_DELAY: Duration = Duration::from_secs(60);
/// netem's default queue limit, in packets, as `tc` sends it.
const LIMIT: u32 = 1000;
const TCA_NETEM_REORDER: u16 = 3;
const TCA_NETEM_RATE: u16 = 6;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_BURST: u16 = 6;
/// `TC_LINKLAYER_ETHERNET`: sizes are what the interface sends, so the
/// kernel needs no rate table.
const LINKLAYER_ETHERNET: u8 = 1;
/// tbf's queue, in bytes: as many full-size Ethernet frames as netem's
/// default queue holds packets.
const TBF_LIMIT: u32 = LIMIT * 1514;

impl Netem {
    /// No impairment yet; add some with the other methods.
    pub fn new() -> Netem {
        Netem::default()
    }

    /// Delays every packet by `delay` (at most 60 s).
    pub fn delay(mut self, delay: Duration) -> Netem {
        self.delay = delay;
        self
    }

    /// Varies the delay by up to `jitter` either way (at most 60 s; needs a delay).
    pub fn jitter(mut self, jitter: Duration) -> Netem {
        self.jitter = jitter;
        self
    }

    /// Drops `percent` % of packets (0 to 100).
    pub fn loss(mut self, percent: f64) -> Netem {
        self.loss = percent;
        self
    }

    /// Sends `percent` % of packets twice (0 to 100).
    pub fn duplicate(mut self, percent: f64) -> Netem {
        self.duplicate = percent;
        self
    }

    /// Sends `percent` % of packets at once, ahead of the delayed rest
    /// (0 to 100; needs a delay).
    pub fn reorder(mut self, percent: f64) -> Netem {
        self.reorder = percent;
        self
    }

    /// Limits the rate to `bits_per_second` (at least 8, at most about 34
    /// Gbit/s). Where the kernel has no netem, a rate limit alone is set
    /// with `tbf` instead (a token bucket holding one full-size frame or
    /// 10 ms of traffic, whichever is more).
    pub fn rate(mut self, bits_per_second: u64) -> Netem {
        self.rate = Some(bits_per_second);
        self
    }

    /// The impairment in words like `tc`'s, e.g. `delay 200ms loss 1%` or
    /// `rate 800000 bit/s`.
    pub(super) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.delay.is_zero() {
            parts.push(format!("delay {:?}", self.delay));
        }
        if !self.jitter.is_zero() {
            parts.push(format!("jitter {:?}", self.jitter));
        }
        for (what, percent) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if percent > 0.0 {
                parts.push(format!("{what} {percent}%"));
            }
        }
        if let Some(rate) = self.rate {
            parts.push(format!("rate {rate} bit/s"));
        }
        if parts.is_empty() {
            "nothing".to_owned()
        } else {
            parts.join(" ")
        }
    }

    /// `Some(bits_per_second)` if a rate limit is all this asks for: what
    /// `tbf` can do in netem's place.
    pub(super) fn rate_only(&self) -> Option<u64> {
        let only_rate = Netem {
            rate: self.rate,
            ..Netem::default()
        };
        if *self == only_rate { self.rate } else { None }
    }

    /// Checks every value and encodes netem's `TCA_OPTIONS` payload.
    pub(super) fn options(&self) -> Result<Vec<u8>, NetworkError> {
        let invalid = |what: &'static str, value: String, reason: &'static str| {
            Err(NetworkError::InvalidImpairment {
                what,
                value,
                reason,
            })
        };
        for (what, value) in [("delay", self.delay), ("jitter", self.jitter)] {
            if value > MAX_DELAY {
                return invalid(what, format!("{value:?}"), "at most 60 s");
            }
        }
        for (what, value) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return invalid(what, format!("{value}%"), "a percentage from 0 to 100");
            }
        }
        if self.jitter > Duration::ZERO && self.delay.is_zero() {
            return invalid(
                "jitter",
                format!("{:?}", self.jitter),
                "needs a delay to vary",
            );
        }
        if self.reorder > 0.0 && self.delay.is_zero() {
            return invalid(
                "reorder",
                format!("{}%", self.reorder),
                "needs a delay to reorder against",
            );
        }
        let rate = match self.rate {
            None => None,
            Some(bits) if bits < 8 || bits / 8 > u64::from(u32::MAX) => {
                return invalid(
                    "rate",
                    format!("{bits} bit/s"),
                    "from 8 bit/s to about 34 Gbit/s",
                );
            }
            Some(bits) => Some((bits / 8) as u32),
        };

        // struct tc_netem_qopt: latency, limit, loss, gap, duplicate, jitter.
        let mut out = Vec::with_capacity(64);
        let gap = u32::from(self.reorder > 0.0); // what `tc` sets for reordering
        for field in [
            ticks(self.delay),
            LIMIT,
            probability(self.loss),
            gap,
            probability(self.duplicate),
            ticks(self.jitter),
        ] {
            out.extend_from_slice(&field.to_ne_bytes());
        }
        // Reordering and rate are always sent, zero when not asked for:
        // replacing a netem qdisc changes it in place, and the kernel keeps
        // a setting whose attribute is missing (an earlier rate limit would
        // outlive the impairment that replaced it).
        // struct tc_netem_reorder: probability, correlation.
        let mut reorder = probability(self.reorder).to_ne_bytes().to_vec();
        reorder.extend_from_slice(&0u32.to_ne_bytes());
        push_attribute(&mut out, TCA_NETEM_REORDER, &reorder);
        // struct tc_netem_rate: rate, packet_overhead, cell_size, cell_overhead.
        let mut rate = rate.unwrap_or(0).to_ne_bytes().to_vec();
        rate.extend_from_slice(&[0; 12]);
        push_attribute(&mut out, TCA_NETEM_RATE, &rate);
        Ok(out)
    }
}

/// `tbf`'s `TCA_OPTIONS` for a rate limit of `bits_per_second` (checked
/// by [`Netem::options`]) on an interface with this `mtu`: a bucket of one
/// full-size frame or 10 ms of traffic, whichever is more, and a queue of
/// [`TBF_LIMIT`] bytes.
pub(super) fn tbf_options(bits_per_second: u64, mtu: u32) -> Vec<u8> {
    let bytes_per_second = (bits_per_second / 8).min(u64::from(u32::MAX)) as u32;
    let frame = mtu.saturating_add(14); // the Ethernet header
    let burst = frame.max(bytes_per_second / 100);
    let buffer = u128::from(burst) * 1_000_000_000 / u128::from(bytes_per_second) / NS_PER_TICK;
    // struct tc_tbf_qopt: rate and peak rate (struct tc_ratespec: cell_log,
    // linklayer, overhead, cell_align, mpu, rate), limit, buffer, mtu.
    let mut parms = Vec::with_capacity(36);
    parms.extend_from_slice(&[0, LINKLAYER_ETHERNET, 0, 0, 0, 0, 0, 0]);
    parms.extend_from_slice(&bytes_per_second.to_ne_bytes());
    parms.extend_from_slice(&[0; 12]); // no peak rate
    for field in [TBF_LIMIT, buffer.min(u128::from(u32::MAX)) as u32, 0] {
        parms.extend_from_slice(&field.to_ne_bytes());
    }
    let mut out = Vec::with_capacity(48);
    push_attribute(&mut out, TCA_TBF_PARMS, &parms);
    push_attribute(&mut out, TCA_TBF_BURST, &burst.to_ne_bytes());
    out
}

/// A duration in psched ticks.
fn ticks(duration: Duration) -> u32 {
    (duration.as_nanos() / NS_PER_TICK) as u32
}

/// A percentage as netem's fraction of `u32::MAX`, rounded as `tc` does.
fn probability(percent: f64) -> u32 {
    (percent / 100.0 * f64::from(u32::MAX)).round() as u32
}

/// Appends one netlink attribute: length, type, value, padding to 4 bytes.
fn push_attribute(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let length = 4 + value.len();
    out.extend_from_slice(&(length as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (4 - length % 4) % 4, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tc qdisc add dev lo root netem delay 200ms 20ms loss 1% duplicate 2%
    /// reorder 3% rate 1mbit`, as iproute2 6.1 sent it (strace), x86_64.
    const FROM_TC: &[u8] = b"\x08\xaf\x2f\x00\xe8\x03\x00\x00\x29\x5c\x8f\x02\x01\x00\x00\x00\
        \x52\xb8\x1e\x05\xb4\xc4\x04\x00\x0c\x00\x03\x00\x7b\x14\xae\x07\x00\x00\x00\x00\
        \x14\x00\x06\x00\x48\xe8\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

    #[test]
    #[cfg(target_endian = "little")]
    fn encodes_options_exactly_as_tc_does() {
        let netem = Netem::new()
            .delay(Duration::from_millis(200))
            .jitter(Duration::from_millis(20))
            .loss(1.0)
            .duplicate(2.0)
            .reorder(3.0)
            .rate(1_000_000);
        assert_eq!(netem.options().unwrap(), FROM_TC);
    }

    #[test]
    fn out_of_range_values_are_typed_errors() {
        let bad = [
            Netem::new().delay(Duration::from_secs(61)),
            Netem::new()
                .delay(Duration::from_secs(1))
                .jitter(Duration::from_secs(61)),
            Netem::new().loss(-1.0),
            Netem::new().loss(100.5),
            Netem::new().duplicate(f64::NAN),
            Netem::new().reorder(50.0),
            Netem::new().jitter(Duration::from_millis(5)),
            Netem::new().rate(7),
            Netem::new().rate(u64::MAX),
        ];
        for netem in bad {
            let error = netem.options().unwrap_err();
            assert!(
                matches!(error, NetworkError::InvalidImpairment { .. }),
                "{netem:?}: {error:?}"
            );
        }
        assert!(Netem::new().loss(100.0).options().is_ok());
    }

    /// Nothing asked for is still said: zero reordering, no rate limit.
    #[test]
    fn a_plain_netem_resets_reordering_and_rate() {
        let options = Netem::new().options().unwrap();
        assert_eq!(options.len(), 24 + 12 + 20);
        assert!(options[24..].iter().enumerate().all(|(i, byte)| {
            // Only the attribute headers are not zero.
            matches!(i, 0..=3 | 12..=15) || *byte == 0
        }));
    }

    #[test]
    fn only_a_bare_rate_limit_can_fall_back_to_tbf() {
        assert_eq!(Netem::new().rate(1_000_000).rate_only(), Some(1_000_000));
        assert_eq!(Netem::new().rate_only(), None);
        let more = Netem::new().rate(1_000_000);
        for netem in [
            more.delay(Duration::from_millis(1)),
            more.loss(1.0),
            more.duplicate(1.0),
        ] {
            assert_eq!(netem.rate_only(), None, "{netem:?}");
        }
    }

    /// `tc qdisc add dev lo root tbf rate 1mbit burst 1514 limit 1514000`,
    /// as iproute2 6.1 sent it (strace): `TCA_TBF_PARMS`, `TCA_TBF_BURST`
    /// (then a 1 kB rate table, which the kernel needs only for a link
    /// layer it is not told).
    const TBF_FROM_TC: &[u8] = b"\x28\x00\x01\x00\x03\x01\x00\x00\xff\xff\x00\x00\x48\xe8\x01\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x1a\x17\x00\x42\xe3\x02\x00\
        \x00\x00\x00\x00\x08\x00\x06\x00\xea\x05\x00\x00";

    #[test]
    #[cfg(target_endian = "little")]
    fn encodes_tbf_options_as_tc_does() {
        let mut ours = tbf_options(1_000_000, 1500);
        // tc's cell_log and cell_align describe its rate table.
        ours[4] = 3;
        ours[8..10].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(ours, TBF_FROM_TC);
        // Fast links get 10 ms worth of tokens.
        let fast = tbf_options(8_000_000_000, 1500);
        assert_eq!(&fast[44..48], &10_000_000u32.to_ne_bytes());
    }
}
