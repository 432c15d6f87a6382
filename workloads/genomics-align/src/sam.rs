//! SAM output (v1.6): a header naming the contigs, one line per read.

use std::fmt::Write as _;

use crate::align::Hit;
use crate::fastx::Read;
use crate::index::Reference;

/// The header: `@HD`, an `@SQ` per contig, `@PG`.
pub fn header(reference: &Reference) -> String {
    let mut out = String::from("@HD\tVN:1.6\tSO:unsorted\n");
    for c in &reference.contigs {
        let _ = writeln!(out, "@SQ\tSN:{}\tLN:{}", c.name, c.len);
    }
    let _ = writeln!(
        out,
        "@PG\tID:genomics-align\tPN:owbench genomics-align\tVN:{}",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// Append the line of `read` aligned as `hit` (unmapped when `None`).
pub fn record(out: &mut String, reference: &Reference, read: &Read<'_>, hit: Option<&Hit>) {
    let name = String::from_utf8_lossy(read.name);
    let Some(hit) = hit else {
        let _ = writeln!(
            out,
            "{name}\t4\t*\t0\t0\t*\t*\t0\t0\t{}\t{}\tYT:Z:UU",
            String::from_utf8_lossy(read.seq),
            String::from_utf8_lossy(read.qual)
        );
        return;
    };
    let (seq, qual): (Vec<u8>, Vec<u8>) = if hit.reverse {
        (
            bio::alphabets::dna::revcomp(read.seq),
            read.qual.iter().rev().copied().collect(),
        )
    } else {
        (read.seq.to_vec(), read.qual.to_vec())
    };
    let _ = write!(
        out,
        "{name}\t{}\t{}\t{}\t{}\t{}\t*\t0\t0\t{}\t{}\tAS:i:{}",
        if hit.reverse { 16 } else { 0 },
        reference.contigs[hit.contig].name,
        hit.pos + 1,
        hit.mapq,
        hit.cigar,
        String::from_utf8_lossy(&seq),
        String::from_utf8_lossy(&qual),
        hit.score
    );
    if let Some(second) = hit.second {
        let _ = write!(out, "\tXS:i:{second}");
    }
    let _ = writeln!(out, "\tNM:i:{}\tYT:Z:UU", hit.edits);
}
