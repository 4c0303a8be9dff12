//! The three pcapng blocks a capture needs: the section header, one
//! interface description per interface, and an enhanced packet block per
//! packet (<https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html>).
//!
//! Written here rather than with the `pcap-file` crate: that crate pulls in
//! `syn` 1 and `thiserror` 1, five seconds of every user's cold build, for
//! the hundred lines below. The suite reads these files back with
//! `pcap-file` and with `tcpdump -r`.

use std::time::Duration;

/// `LINKTYPE_ETHERNET`: frames with their Ethernet header.
pub(crate) const LINKTYPE_ETHERNET: u16 = 1;
/// `LINKTYPE_RAW`: IPv4 or IPv6 packets with no link-layer header.
pub(crate) const LINKTYPE_RAW: u16 = 101;

/// Where a packet went, for an enhanced packet block's `epb_flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

/// A pcapng section being written into memory, in the machine's byte
/// order (the section header's magic tells readers which).
#[derive(Debug)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
    interfaces: u32,
}

impl Writer {
    /// A section whose header names `application` as its writer.
    pub(crate) fn new(application: &str) -> Writer {
        let mut writer = Writer {
            bytes: Vec::new(),
            interfaces: 0,
        };
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4D_u32.to_ne_bytes()); // byte-order magic
        body.extend_from_slice(&1_u16.to_ne_bytes()); // major version
        body.extend_from_slice(&0_u16.to_ne_bytes()); // minor version
        body.extend_from_slice(&(-1_i64).to_ne_bytes()); // section length: unknown
        option(&mut body, 4, application.as_bytes()); // shb_userappl
        end_of_options(&mut body);
        writer.block(0x0A0D_0D0A, &body);
        writer
    }

    /// Describes the next interface: packets name it by the number this
    /// returns. Timestamps are in nanoseconds (`if_tsresol` 9).
    pub(crate) fn interface(&mut self, name: &str, linktype: u16, snaplen: u32) -> u32 {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_ne_bytes());
        body.extend_from_slice(&0_u16.to_ne_bytes()); // reserved
        body.extend_from_slice(&snaplen.to_ne_bytes());
        option(&mut body, 2, name.as_bytes()); // if_name
        option(&mut body, 9, &[9]); // if_tsresol: 10^-9 s
        end_of_options(&mut body);
        self.block(1, &body);
        self.interfaces += 1;
        self.interfaces - 1
    }

    /// Records one packet seen on `interface` at `time` (since the Unix
    /// epoch): its first bytes, `data`, of `length` in all.
    pub(crate) fn packet(
        &mut self,
        interface: u32,
        time: Duration,
        direction: Direction,
        data: &[u8],
        length: usize,
    ) {
        // Nanoseconds since 1970 fit in 64 bits until the year 2554.
        let nanos = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
        let mut body = Vec::with_capacity(data.len() + 40);
        body.extend_from_slice(&interface.to_ne_bytes());
        body.extend_from_slice(&((nanos >> 32) as u32).to_ne_bytes());
        body.extend_from_slice(&(nanos as u32).to_ne_bytes());
        body.extend_from_slice(&len32(data.len()).to_ne_bytes());
        body.extend_from_slice(&len32(length).to_ne_bytes());
        body.extend_from_slice(data);
        pad(&mut body);
        let flags: u32 = match direction {
            Direction::Inbound => 1,
            Direction::Outbound => 2,
        };
        option(&mut body, 2, &flags.to_ne_bytes()); // epb_flags
        end_of_options(&mut body);
        self.block(6, &body);
    }

    /// The section's bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let total = len32(body.len() + 12);
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(&total.to_ne_bytes());
        self.bytes.extend_from_slice(body);
        self.bytes.extend_from_slice(&total.to_ne_bytes());
    }
}

fn len32(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// Appends option `code` with `value`, padded to 32 bits.
fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    // Option values are at most 65535 bytes; ours are names and flags.
    let value = &value[..value.len().min(usize::from(u16::MAX) - 3)];
    body.extend_from_slice(&code.to_ne_bytes());
    body.extend_from_slice(&(value.len() as u16).to_ne_bytes());
    body.extend_from_slice(value);
    pad(body);
}

fn end_of_options(body: &mut Vec<u8>) {
    body.extend_from_slice(&[0; 4]);
}

fn pad(body: &mut Vec<u8>) {
    body.resize(body.len().next_multiple_of(4), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    /// Every block's two length fields agree and blocks tile the section.
    #[test]
    fn blocks_are_framed_and_aligned() {
        let mut writer = Writer::new("netns-test");
        let lo = writer.interface("test/lo", LINKTYPE_ETHERNET, 65535);
        let eth0 = writer.interface("test/eth0", LINKTYPE_RAW, 65535);
        assert_eq!((lo, eth0), (0, 1));
        writer.packet(
            eth0,
            Duration::new(1, 5),
            Direction::Outbound,
            &[0x45; 21],
            60,
        );
        let bytes = &writer.into_bytes();
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < bytes.len() {
            let length = u32_at(bytes, at + 4) as usize;
            assert_eq!(length % 4, 0);
            assert_eq!(u32_at(bytes, at + length - 4) as usize, length);
            kinds.push(u32_at(bytes, at));
            at += length;
        }
        assert_eq!(at, bytes.len());
        assert_eq!(kinds, [0x0A0D_0D0A, 1, 1, 6]);
        let packet = &bytes[bytes.len() - u32_at(bytes, bytes.len() - 4) as usize..];
        assert_eq!(u32_at(packet, 8), 1, "interface");
        assert_eq!(u32_at(packet, 16), 1_000_000_005, "low timestamp");
        assert_eq!((u32_at(packet, 20), u32_at(packet, 24)), (21, 60));
    }
}
