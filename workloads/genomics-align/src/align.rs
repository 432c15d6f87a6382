//! Aligning one read end to end: exact seeds looked up in the FM index on both strands,
//! seed hits grouped by diagonal into candidate loci, a banded semiglobal Smith-Waterman
//! (`bio`) of the read against each candidate's window, scored as bowtie2 scores by
//! default (`--end-to-end`): a mismatch costs 2 + ⌊4·min(Q, 40)/40⌋, an `N` 1, a gap of
//! length L 5 + 3L, and an alignment counts from −0.6 − 0.6·(read length).

use bio::alignment::AlignmentOperation as Op;
use bio::alignment::pairwise::banded;

use crate::index::Reference;

/// Seed length in bases, and the shorter seeds of the second round (for reads whose
/// long seeds all hit a mismatch).
const SEED_LEN: usize = 20;
const RESEED_LEN: usize = 12;
/// Seeds with more hits than this are repeats; they are skipped.
const MAX_SEED_HITS: usize = 64;
/// Candidate loci aligned per read, the best supported first.
const MAX_CANDIDATES: usize = 4;
/// Length of the exact matches the band is laid along (seeds are cut into them), and
/// the band's half-width around them.
const BAND_K: usize = 12;
const BAND_W: usize = 8;
/// The penalty a mismatch costs at quality 40 and above (the most), and at quality 0.
const MISMATCH_MAX: i32 = 6;
const MISMATCH_MIN: i32 = 2;
const N_PENALTY: i32 = 1;
const GAP_OPEN: i32 = 5;
const GAP_EXTEND: i32 = 3;

/// Where and how a read aligned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the contig.
    pub contig: usize,
    /// 0-based position of the first aligned reference base in the contig.
    pub pos: usize,
    /// Aligned as its reverse complement.
    pub reverse: bool,
    /// Alignment score (0 is perfect, lower is worse).
    pub score: i32,
    /// Score of the best alignment elsewhere, if one passed the minimum.
    pub second: Option<i32>,
    /// CIGAR (`M`, `I`, `D`).
    pub cigar: String,
    /// Edit distance to the reference.
    pub edits: u32,
    /// Mapping quality.
    pub mapq: u8,
}

/// The lowest score an alignment of a read of `len` bases may have.
pub fn min_score(len: usize) -> i32 {
    (-0.6 - 0.6 * len as f64).ceil() as i32
}

/// A read base as the aligner sees it: the base's index in `ACGTN` in the low nibble,
/// the penalty a mismatch there costs (from its quality) in the high one.
fn encode(base: u8, qual: u8) -> u8 {
    let code = match base {
        b'A' => 0,
        b'C' => 1,
        b'G' => 2,
        b'T' => 3,
        _ => 4,
    };
    let q = i32::from(qual.saturating_sub(b'!')).min(40);
    let penalty = MISMATCH_MIN + (MISMATCH_MAX - MISMATCH_MIN) * q / 40;
    code | ((penalty as u8) << 4)
}

/// Score of encoded read base `x` against reference base `y`: bowtie2's, qualities
/// included.
fn base_score(x: u8, y: u8) -> i32 {
    let base = b"ACGTNNNNNNNNNNNN"[usize::from(x & 15)];
    if base == b'N' || y == b'N' {
        -N_PENALTY
    } else if base == y {
        0
    } else {
        -i32::from(x >> 4)
    }
}

/// An exact seed hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SeedHit {
    reverse: bool,
    /// Text position of read base 0 if the read has no gap.
    diagonal: i64,
    /// Where the seed starts in the read (strand as aligned).
    offset: u32,
    len: u32,
}

/// Aligns reads against one reference, reusing its buffers between reads.
pub struct Aligner<'r> {
    reference: &'r Reference,
    banded: banded::Aligner<fn(u8, u8) -> i32>,
    hits: Vec<SeedHit>,
    matches: Vec<(u32, u32)>,
}

/// A read prepared for both strands.
struct Strands {
    fwd: Vec<u8>,
    rev: Vec<u8>,
    /// Both strands encoded for the aligner (see [`encode`]).
    fwd_enc: Vec<u8>,
    rev_enc: Vec<u8>,
}

impl<'r> Aligner<'r> {
    /// An aligner over `reference`.
    pub fn new(reference: &'r Reference) -> Self {
        // End to end: the read may not be clipped, the reference window may.
        let scoring = bio::alignment::pairwise::Scoring::new(
            -(GAP_OPEN + GAP_EXTEND),
            -GAP_EXTEND,
            base_score as fn(u8, u8) -> i32,
        )
        .xclip(bio::alignment::pairwise::MIN_SCORE)
        .yclip(0);
        Aligner {
            reference,
            banded: banded::Aligner::with_scoring(scoring, BAND_K, BAND_W),
            hits: Vec::new(),
            matches: Vec::new(),
        }
    }

    /// Align `seq` (bases as read) with Phred+33 `qual` (as long as `seq`).
    pub fn align(&mut self, seq: &[u8], qual: &[u8]) -> Option<Hit> {
        let len = seq.len();
        if len < RESEED_LEN {
            return None;
        }
        let fwd: Vec<u8> = seq.iter().map(|&b| crate::fastx::normalize(b)).collect();
        let rev = bio::alphabets::dna::revcomp(&fwd);
        let read = Strands {
            fwd_enc: fwd.iter().zip(qual).map(|(&b, &q)| encode(b, q)).collect(),
            rev_enc: rev
                .iter()
                .zip(qual.iter().rev())
                .map(|(&b, &q)| encode(b, q))
                .collect(),
            fwd,
            rev,
        };
        let min = min_score(len);
        // The longest gap an alignment above the minimum can hold.
        let max_gap = ((-min - GAP_OPEN) / GAP_EXTEND).max(0) as i64;
        let mut found = Vec::new();
        for (seed_len, interval) in [
            (SEED_LEN, (1.0 + 1.15 * (len as f64).sqrt()).ceil() as usize),
            (RESEED_LEN, 4),
        ] {
            self.seed(&read, seed_len.min(len), interval);
            found = self.extend_candidates(&read, max_gap, min);
            if !found.is_empty() {
                break;
            }
        }
        found.sort_by_key(|h| std::cmp::Reverse(h.score));
        let mut ranked = found.into_iter();
        let mut hit = ranked.next()?;
        hit.second = ranked.next().map(|h| h.score);
        hit.mapq = mapq(hit.score, hit.second, min);
        Some(hit)
    }

    /// Every exact hit of seeds of `seed_len` every `interval` bases, both strands,
    /// sorted by strand and diagonal.
    fn seed(&mut self, read: &Strands, seed_len: usize, interval: usize) {
        self.hits.clear();
        let len = read.fwd.len();
        for (reverse, bases) in [(false, &read.fwd), (true, &read.rev)] {
            let mut offset = 0;
            while offset + seed_len <= len {
                let seed = &bases[offset..offset + seed_len];
                if !seed.contains(&b'N') {
                    for &p in self.reference.exact(seed, MAX_SEED_HITS) {
                        self.hits.push(SeedHit {
                            reverse,
                            diagonal: p as i64 - offset as i64,
                            offset: offset as u32,
                            len: seed_len as u32,
                        });
                    }
                }
                offset += interval;
            }
        }
        self.hits.sort_unstable();
    }

    /// Group the seed hits into loci (runs of one strand whose diagonals lie within a
    /// gap of each other) and align the read at the best supported ones; the distinct
    /// alignments that reach `min`.
    fn extend_candidates(&mut self, read: &Strands, max_gap: i64, min: i32) -> Vec<Hit> {
        let mut loci: Vec<std::ops::Range<usize>> = Vec::new();
        for i in 0..self.hits.len() {
            match loci.last_mut() {
                Some(run)
                    if self.hits[i].reverse == self.hits[i - 1].reverse
                        && self.hits[i].diagonal - self.hits[i - 1].diagonal <= max_gap.max(1) =>
                {
                    run.end = i + 1;
                }
                _ => loci.push(i..i + 1),
            }
        }
        loci.sort_by_key(|run| std::cmp::Reverse(run.len()));
        let mut found: Vec<Hit> = Vec::new();
        for run in loci.into_iter().take(MAX_CANDIDATES) {
            let Some(hit) = self.extend(read, run, max_gap) else {
                continue;
            };
            if hit.score >= min
                && !found
                    .iter()
                    .any(|f| f.contig == hit.contig && f.reverse == hit.reverse && f.pos == hit.pos)
            {
                found.push(hit);
            }
        }
        found
    }

    /// Align the read's strand against the window around the seed hits `run`, the band
    /// laid along them.
    fn extend(&mut self, read: &Strands, run: std::ops::Range<usize>, max_gap: i64) -> Option<Hit> {
        let seeds = &self.hits[run];
        let reverse = seeds[0].reverse;
        let (bases, encoded) = if reverse {
            (&read.rev, &read.rev_enc)
        } else {
            (&read.fwd, &read.fwd_enc)
        };
        let (lo, hi) = (seeds[0].diagonal, seeds[seeds.len() - 1].diagonal);
        let anchor = (seeds[0].diagonal + i64::from(seeds[0].offset)) as usize;
        let contig_index = self.reference.contig_at(anchor);
        let contig = &self.reference.contigs[contig_index];
        let (c_start, c_end) = (contig.start as i64, (contig.start + contig.len) as i64);
        let from = (lo - max_gap).clamp(c_start, c_end);
        let to = (hi + bases.len() as i64 + max_gap).clamp(c_start, c_end);
        if to - from < bases.len() as i64 / 2 {
            return None;
        }
        // Most reads lie on one diagonal with few differences: when no gapped alignment
        // can beat the ungapped one (a gap alone costs more), skip the dynamic programming.
        if lo == hi && lo >= c_start && hi + bases.len() as i64 <= c_end {
            let reference = self.reference.slice(lo as usize, lo as usize + bases.len());
            let ops = vec![Op::Match; bases.len()];
            let (score, edits) = rescore(&ops, bases, encoded, reference);
            if score > -(GAP_OPEN + GAP_EXTEND) {
                return Some(Hit {
                    contig: contig_index,
                    pos: (lo - c_start) as usize,
                    reverse,
                    score,
                    second: None,
                    cigar: format!("{}M", bases.len()),
                    edits,
                    mapq: 0,
                });
            }
        }
        // The seeds cut into BAND_K-mers, as (read, window) positions.
        self.matches.clear();
        for s in seeds {
            let y = s.diagonal + i64::from(s.offset) - from;
            if y < 0 || y + i64::from(s.len) > to - from {
                continue;
            }
            for t in 0..=(s.len as usize).saturating_sub(BAND_K) {
                self.matches
                    .push((s.offset + t as u32, (y as usize + t) as u32));
            }
        }
        self.matches.sort_unstable();
        self.matches.dedup();
        let window = self.reference.slice(from as usize, to as usize);
        let mut alignment = self
            .banded
            .custom_with_matches(encoded, window, &self.matches);
        alignment.filter_clip_operations();
        let consumed = alignment
            .operations
            .iter()
            .filter(|op| matches!(op, Op::Match | Op::Subst | Op::Ins))
            .count();
        if consumed != bases.len() {
            // The band was too large to fill (`bio` then gives up with an empty alignment).
            return None;
        }
        let (score, edits) = rescore(
            &alignment.operations,
            bases,
            encoded,
            &window[alignment.ystart..],
        );
        Some(Hit {
            contig: contig_index,
            pos: (from - c_start) as usize + alignment.ystart,
            reverse,
            score,
            second: None,
            cigar: cigar(&alignment.operations),
            edits,
            mapq: 0,
        })
    }
}

/// The score of an alignment (as the aligner scored it, gaps included) and its edit
/// distance.
fn rescore(ops: &[Op], read: &[u8], encoded: &[u8], reference: &[u8]) -> (i32, u32) {
    let (mut i, mut j, mut score, mut edits) = (0, 0, 0i32, 0u32);
    let mut gap: Option<Op> = None;
    for &op in ops {
        match op {
            Op::Match | Op::Subst => {
                let (a, b) = (read[i], reference[j]);
                if a == b'N' || b == b'N' {
                    score -= N_PENALTY;
                    edits += 1;
                } else if a != b {
                    score -= i32::from(encoded[i] >> 4);
                    edits += 1;
                }
                i += 1;
                j += 1;
            }
            Op::Ins | Op::Del => {
                score -= GAP_EXTEND;
                if gap != Some(op) {
                    score -= GAP_OPEN;
                }
                edits += 1;
                if op == Op::Ins {
                    i += 1;
                } else {
                    j += 1;
                }
            }
            Op::Xclip(_) | Op::Yclip(_) => {}
        }
        gap = matches!(op, Op::Ins | Op::Del).then_some(op);
    }
    (score, edits)
}

/// SAM CIGAR of `ops` (matches and mismatches both `M`).
fn cigar(ops: &[Op]) -> String {
    let mut out = String::new();
    let mut run: Option<(char, usize)> = None;
    for op in ops {
        let c = match op {
            Op::Match | Op::Subst => 'M',
            Op::Ins => 'I',
            Op::Del => 'D',
            Op::Xclip(_) | Op::Yclip(_) => continue,
        };
        run = match run {
            Some((r, n)) if r == c => Some((r, n + 1)),
            Some((r, n)) => {
                out.push_str(&format!("{n}{r}"));
                Some((c, 1))
            }
            None => Some((c, 1)),
        };
    }
    if let Some((r, n)) = run {
        out.push_str(&format!("{n}{r}"));
    }
    out
}

/// Mapping quality (owbench's scheme, not bowtie2's): with no second alignment, 42 ×
/// how far the best is above the minimum (capped at 42 from 80% of the way); with one,
/// 42 × the gap between them over the allowed score range. 0 when they tie.
fn mapq(best: i32, second: Option<i32>, min: i32) -> u8 {
    let range = f64::from((-min).max(1));
    let q = match second {
        None => 42.0 * (f64::from(best - min) / range / 0.8).min(1.0),
        Some(s) => 42.0 * (f64::from(best - s) / range).min(1.0),
    };
    q.round().clamp(0.0, 42.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastx::Contig;

    fn reference() -> Reference {
        // A deterministic pseudo-random 2 kb contig.
        let mut x = 12345u64;
        let seq = (0..2000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"ACGT"[(x >> 62) as usize]
            })
            .collect();
        Reference::new(vec![Contig {
            name: "chr".into(),
            seq,
        }])
    }

    #[test]
    fn reads_land_where_they_came_from_on_either_strand() {
        let r = reference();
        let mut a = Aligner::new(&r);
        let read = r.slice(500, 600).to_vec();
        let qual = vec![b'I'; 100];
        let hit = a.align(&read, &qual).unwrap();
        assert_eq!(
            (hit.pos, hit.reverse, hit.score, hit.cigar.as_str()),
            (500, false, 0, "100M")
        );
        assert_eq!(hit.mapq, 42);

        let rc = bio::alphabets::dna::revcomp(&read);
        let hit = a.align(&rc, &qual).unwrap();
        assert_eq!((hit.pos, hit.reverse, hit.score), (500, true, 0));
    }

    #[test]
    fn mismatches_and_gaps_are_scored_as_bowtie2_scores_them() {
        let r = reference();
        let mut a = Aligner::new(&r);
        let mut read = r.slice(1000, 1100).to_vec();
        read[10] = if read[10] == b'A' { b'C' } else { b'A' }; // mismatch at Q40: 6
        read[20] = b'N'; // N: 1
        read.drain(60..63); // 3-base deletion from the read: 5 + 3·3 = 14
        let mut qual = vec![b'I'; read.len()];
        qual[10] = b'+'; // Q10: 2 + ⌊4·10/40⌋ = 3
        let hit = a.align(&read, &qual).unwrap();
        assert_eq!(hit.pos, 1000);
        assert_eq!(hit.score, -(3 + 1 + 14));
        assert_eq!(hit.cigar, "60M3D37M");
        assert_eq!(hit.edits, 2 + 3);
    }

    #[test]
    fn an_unrelated_read_does_not_align() {
        let r = reference();
        let mut a = Aligner::new(&r);
        let read: Vec<u8> = (0..100).map(|i| b"AC"[i % 2]).collect();
        assert_eq!(a.align(&read, &[b'I'; 100]), None);
        assert_eq!(min_score(100), -60);
    }
}
