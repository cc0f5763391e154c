//! Random streams: the only place random numbers are made.
//!
//! Every draw in a run is addressed by (seed, replication, person, month, purpose) and
//! computed by the counter-based generator Philox4x32-10 (Salmon, Moraes, Dror & Shaw,
//! "Parallel random numbers: as easy as 1, 2, 3", SC'11), the generator of Random123,
//! cuRAND, JAX and NumPy. A counter-based generator has no state to share or to advance:
//! the draw for a person's transition in month 17 is the same number whatever happened
//! before, in whichever thread, in whichever arm. That gives, by construction:
//!
//! * common random numbers between arms (the same decision of the same person in the
//!   same month sees the same uniform in every arm);
//! * results independent of thread count, chunking and sharding;
//! * adding a person, an arm or a purpose leaves every other draw unchanged.
//!
//! Counter layout (four 32-bit words): `[person, month, replication, purpose]`; key: the
//! 64-bit seed. One block gives four independent 32-bit lanes, which is why each
//! per-month purpose below names the lanes it uses.

/// What a block of randomness is used for. Each purpose is its own stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Purpose {
    /// Per person per month: lane 0 transition, lane 1 programme dropout,
    /// lane 2 hand-over failure, lane 3 referral.
    Month = 1,
    /// Per person per month, rarer events: lane 0 hand-over gap landing state,
    /// lane 1 gap length, lane 2 forced-rule destination, lane 3 referral at entry.
    MonthDetail = 2,
    /// Person attributes at creation: the month word holds the attribute slot.
    Person = 3,
    /// Parameter draws for probabilistic sensitivity analysis: the person word holds a
    /// hash of the parameter's key path.
    Parameter = 4,
    /// Per person per month, the end of a programme place: lane 0 hand-over failure,
    /// lane 1 gap landing state, lane 2 gap length, lane 3 placement with a local
    /// employer.
    ProgrammeExit = 5,
}

/// Lanes of [`Purpose::Month`].
pub const LANE_TRANSITION: usize = 0;
pub const LANE_DROPOUT: usize = 1;
pub const LANE_HANDOVER: usize = 2;
pub const LANE_REFERRAL: usize = 3;
/// Lanes of [`Purpose::MonthDetail`].
pub const LANE_GAP_STATE: usize = 0;
pub const LANE_GAP_LENGTH: usize = 1;
pub const LANE_RULE: usize = 2;
pub const LANE_ENTRY_REFERRAL: usize = 3;

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32 with 10 rounds, as in Random123 `philox4x32_R(10, ctr, key)`.
#[inline(always)]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// A uniform in the open interval (0, 1) from 32 random bits. The half-step offset keeps
/// both 0 and 1 out, so `ln(u)` and `ln(1 - u)` are always finite.
#[inline(always)]
pub fn unit(bits: u32) -> f64 {
    (f64::from(bits) + 0.5) * (1.0 / 4_294_967_296.0)
}

/// How many 32-bit draws give a `unit` below `p`: `unit(bits) < p` exactly when
/// `u64::from(bits) < draws_below(p)`, so a hot loop can test a draw against a probability
/// with one integer comparison and the same outcome as the float test.
pub fn draws_below(p: f64) -> u64 {
    // `unit(k) < p` ⇔ `2k + 1 < z` with `z = p · 2^33` (exact: a power-of-two scale) ⇔
    // `2k + 1 < ceil(z)` (an integer on the left) ⇔ `k < ceil(z) / 2`: the count is
    // `ceil(z) >> 1`. No rounding anywhere, and no `ceil` call (the engine computes this
    // once per cached person).
    let z = p * 8_589_934_592.0;
    if z.is_nan() || z <= 0.0 {
        return 0;
    }
    if z >= 8_589_934_592.0 {
        return 1 << 32;
    }
    let f = z as u64;
    (f + u64::from((f as f64) < z)) >> 1
}

/// The streams of one replication of one run.
#[derive(Debug, Clone, Copy)]
pub struct Streams {
    key: [u32; 2],
    replication: u32,
}

impl Streams {
    pub fn new(seed: u64, replication: u32) -> Self {
        Streams {
            key: [seed as u32, (seed >> 32) as u32],
            replication,
        }
    }

    /// Four 32-bit lanes for `(person, month, purpose)`.
    #[inline(always)]
    pub fn block(&self, person: u32, month: u32, purpose: Purpose) -> [u32; 4] {
        philox4x32_10([person, month, self.replication, purpose as u32], self.key)
    }

    /// The blocks of persons `first .. first + n` for `(month, purpose)`, word by word:
    /// `out[k][j] == self.block(first + j, month, purpose)[k]` for `j < n`, bit for bit
    /// (the words past `n` are left as they are). Computed many persons at a time in SIMD
    /// lanes (thirty-two with AVX-512, sixteen with AVX2, eight in the portable
    /// lane-parallel arrays), since the
    /// scalar [`philox4x32_10`] is a dependency chain of ten rounds per block; word by
    /// word because that is how the lanes compute them (no transpose) and how a SIMD
    /// consumer reads them (`engine::quiet_cached`).
    pub fn lanes_into<const N: usize>(
        &self,
        first: u32,
        month: u32,
        purpose: Purpose,
        out: &mut [[u32; N]; 4],
        n: usize,
    ) {
        self.words_into(first, month, purpose as u32, out, n);
    }

    /// Block `block` of the sequences `(first + j, slot, purpose)` for `j < n`
    /// ([`Streams::sequence`]), word by word as in [`Streams::lanes_into`]: what
    /// [`Streams::sequence_from`] takes, computed many sequences at a time.
    pub fn sequence_lanes_into<const N: usize>(
        &self,
        first: u32,
        slot: u32,
        purpose: Purpose,
        block: u32,
        out: &mut [[u32; N]; 4],
        n: usize,
    ) {
        self.words_into(first, slot, sequence_word(purpose as u32, block), out, n);
    }

    /// The blocks with counters `[first + j, word1, replication, word3]`, `j < n`, word by
    /// word.
    fn words_into<const N: usize>(
        &self,
        first: u32,
        word1: u32,
        word3: u32,
        out: &mut [[u32; N]; 4],
        n: usize,
    ) {
        assert!(n <= N, "{n} blocks asked into lanes of {N}");
        #[cfg(target_arch = "x86_64")]
        let done = if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above); integer arithmetic
            // only, so the numbers are the same as on the other paths.
            unsafe { self.lanes_into_avx512(first, word1, word3, out, n) }
        } else if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above); integer arithmetic
            // only, so the numbers are the same as on the baseline path.
            unsafe { self.lanes_into_avx2(first, word1, word3, out, n) }
        } else {
            self.lanes_into_generic(first, word1, word3, out, n)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = self.lanes_into_generic(first, word1, word3, out, n);
        // The persons after the last whole group, one at a time.
        for j in done..n {
            let b = philox4x32_10(
                [first.wrapping_add(j as u32), word1, self.replication, word3],
                self.key,
            );
            for (lane, w) in out.iter_mut().zip(b) {
                lane[j] = w;
            }
        }
    }

    /// Sixteen blocks per iteration in AVX2 registers (two independent sets of eight, one
    /// person per 32-bit lane), then eight; returns how many it computed (the caller does
    /// the rest one at a time). Written with intrinsics:
    /// the auto-vectorised generic loop spent most of its time shuffling lanes in and out
    /// of registers (11 ns per block in a profile against ~2 ns here). Two sets because
    /// a round is a chain of dependent multiply, shift, blend and xor: one set alone
    /// waits on that chain's latency, two fill the multiply units.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn lanes_into_avx2<const N: usize>(
        &self,
        first: u32,
        word1: u32,
        word3: u32,
        out: &mut [[u32; N]; 4],
        n: usize,
    ) -> usize {
        use std::arch::x86_64::*;
        const L: usize = 8;
        let step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let counters = |p0: u32| {
            [
                _mm256_add_epi32(_mm256_set1_epi32(p0 as i32), step),
                _mm256_set1_epi32(word1 as i32),
                _mm256_set1_epi32(self.replication as i32),
                _mm256_set1_epi32(word3 as i32),
            ]
        };
        let store = |out: &mut [[u32; N]; 4], j: usize, w: [__m256i; 4]| {
            for (lane, v) in out.iter_mut().zip(w) {
                let dst = &mut lane[j..j + L];
                // SAFETY: `dst` is eight contiguous `u32`, one unaligned 256-bit store.
                unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), v) };
            }
        };
        let mut j = 0;
        while j + 2 * L <= n {
            let p0 = first.wrapping_add(j as u32);
            let [a, b] = philox_avx2(
                [counters(p0), counters(p0.wrapping_add(L as u32))],
                self.key,
            );
            store(out, j, a);
            store(out, j + L, b);
            j += 2 * L;
        }
        if j + L <= n {
            let [a] = philox_avx2([counters(first.wrapping_add(j as u32))], self.key);
            store(out, j, a);
            j += L;
        }
        j
    }

    /// [`Streams::lanes_into_avx2`] in AVX-512 registers: thirty-two blocks per iteration
    /// (two sets of sixteen), then sixteen; returns how many it computed. Half the
    /// instructions per block (sixteen lanes per instruction, and one three-way xor where
    /// AVX2 takes two), which matters on cores that split 512-bit work in two as well:
    /// the month blocks are about a quarter of the engine's instructions.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn lanes_into_avx512<const N: usize>(
        &self,
        first: u32,
        word1: u32,
        word3: u32,
        out: &mut [[u32; N]; 4],
        n: usize,
    ) -> usize {
        use std::arch::x86_64::*;
        const L: usize = 16;
        let step = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        let counters = |p0: u32| {
            [
                _mm512_add_epi32(_mm512_set1_epi32(p0 as i32), step),
                _mm512_set1_epi32(word1 as i32),
                _mm512_set1_epi32(self.replication as i32),
                _mm512_set1_epi32(word3 as i32),
            ]
        };
        let store = |out: &mut [[u32; N]; 4], j: usize, w: [__m512i; 4]| {
            for (lane, v) in out.iter_mut().zip(w) {
                let dst = &mut lane[j..j + L];
                // SAFETY: `dst` is sixteen contiguous `u32`, one unaligned 512-bit store.
                unsafe { _mm512_storeu_epi32(dst.as_mut_ptr().cast(), v) };
            }
        };
        let mut j = 0;
        while j + 2 * L <= n {
            let p0 = first.wrapping_add(j as u32);
            let [a, b] = philox_avx512(
                [counters(p0), counters(p0.wrapping_add(L as u32))],
                self.key,
            );
            store(out, j, a);
            store(out, j + L, b);
            j += 2 * L;
        }
        if j + L <= n {
            let [a] = philox_avx512([counters(first.wrapping_add(j as u32))], self.key);
            store(out, j, a);
            j += L;
        }
        j
    }

    /// Eight blocks per iteration in lane-parallel arrays; returns how many it computed.
    #[inline(always)]
    fn lanes_into_generic<const N: usize>(
        &self,
        first: u32,
        word1: u32,
        word3: u32,
        out: &mut [[u32; N]; 4],
        n: usize,
    ) -> usize {
        const L: usize = 8;
        let mut j = 0;
        while j + L <= n {
            let p0 = first.wrapping_add(j as u32);
            let mut c0 = [0u32; L];
            for (l, c) in c0.iter_mut().enumerate() {
                *c = p0.wrapping_add(l as u32);
            }
            let mut c1 = [word1; L];
            let mut c2 = [self.replication; L];
            let mut c3 = [word3; L];
            let mut k = self.key;
            for round in 0..10 {
                if round > 0 {
                    k[0] = k[0].wrapping_add(W0);
                    k[1] = k[1].wrapping_add(W1);
                }
                // The round of `philox4x32_10`, lane by lane.
                for l in 0..L {
                    let (hi0, lo0) = mulhilo(M0, c0[l]);
                    let (hi1, lo1) = mulhilo(M1, c2[l]);
                    [c0[l], c1[l], c2[l], c3[l]] =
                        [hi1 ^ c1[l] ^ k[0], lo1, hi0 ^ c3[l] ^ k[1], lo0];
                }
            }
            for (lane, c) in out.iter_mut().zip([c0, c1, c2, c3]) {
                lane[j..j + L].copy_from_slice(&c);
            }
            j += L;
        }
        j
    }

    /// A sequential generator over `(person, slot, purpose)`, for draws whose count is not
    /// fixed in advance (rejection samplers of rand_distr). Block `i` of the sequence uses
    /// the counter `[person, slot, replication, purpose | i << 8]`.
    pub fn sequence(&self, person: u32, slot: u32, purpose: Purpose) -> SequenceRng {
        self.sequence_from(person, slot, purpose, &[])
    }

    /// [`Streams::sequence`] given its first blocks, already computed (at most
    /// [`PRECOMPUTED`] are kept; the later ones are computed as the draws need them). The
    /// same numbers as `sequence` when `first[b]` is the sequence's block `b`, as
    /// [`Streams::sequence_lanes_into`] gives them; a debug assertion checks it.
    pub fn sequence_from(
        &self,
        person: u32,
        slot: u32,
        purpose: Purpose,
        first: &[[u32; 4]],
    ) -> SequenceRng {
        let kept = first.len().min(PRECOMPUTED);
        let mut pre = [[0; 4]; PRECOMPUTED];
        pre[..kept].copy_from_slice(&first[..kept]);
        self.sequence_with(person, slot, purpose, pre, kept)
    }

    /// [`Streams::sequence_from`] with the first `kept` blocks in a whole array, taken by
    /// value: the cohort draw builds one per person and attribute, and the slice form's
    /// copy of a run-time length was a `memcpy` call each time (a tenth of the draw).
    #[inline(always)]
    pub fn sequence_with(
        &self,
        person: u32,
        slot: u32,
        purpose: Purpose,
        pre: [[u32; 4]; PRECOMPUTED],
        kept: usize,
    ) -> SequenceRng {
        SequenceRng {
            streams: *self,
            person,
            slot,
            purpose: purpose as u32,
            block: 0,
            buf: [0; 4],
            used: 4,
            pre,
            pre_len: kept.min(PRECOMPUTED) as u32,
        }
    }
}

/// The most precomputed blocks a [`SequenceRng`] keeps.
pub const PRECOMPUTED: usize = 4;

/// Word 3 of the counter of block `block` of a sequence of `purpose`. 2^24 blocks per
/// sequence is far beyond any rejection sampler's needs; the wrap keeps the purpose byte
/// intact rather than panicking.
#[inline(always)]
fn sequence_word(purpose: u32, block: u32) -> u32 {
    purpose | ((block & 0x00FF_FFFF) << 8)
}

/// A `rand::Rng` over one addressed Philox sequence; see [`Streams::sequence`].
#[derive(Debug, Clone)]
pub struct SequenceRng {
    streams: Streams,
    person: u32,
    slot: u32,
    purpose: u32,
    block: u32,
    buf: [u32; 4],
    used: usize,
    /// Blocks `0 .. pre_len`, precomputed ([`Streams::sequence_from`]).
    pre: [[u32; 4]; PRECOMPUTED],
    pre_len: u32,
}

impl SequenceRng {
    #[cold]
    fn refill(&mut self) {
        let computed = || {
            philox4x32_10(
                [
                    self.person,
                    self.slot,
                    self.streams.replication,
                    sequence_word(self.purpose, self.block),
                ],
                self.streams.key,
            )
        };
        self.buf = if self.block < self.pre_len {
            debug_assert_eq!(self.pre[self.block as usize], computed());
            self.pre[self.block as usize]
        } else {
            computed()
        };
        self.block = self.block.wrapping_add(1);
        self.used = 0;
    }
}

impl rand::TryRng for SequenceRng {
    type Error = core::convert::Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        if self.used == 4 {
            self.refill();
        }
        let v = self.buf[self.used];
        self.used += 1;
        Ok(v)
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let lo = u64::from(self.try_next_u32()?);
        let hi = u64::from(self.try_next_u32()?);
        Ok(lo | (hi << 32))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(4) {
            let v = self.try_next_u32()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

/// FNV-1a over a key path, folded to 32 bits: the stream address of a named parameter,
/// so that the same parameter gets the same draw in every arm and every run.
pub fn path_hash(path: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

/// Philox4x32-10 on `G` independent sets of eight counters (words 0–3 of eight blocks,
/// one block per 32-bit lane), interleaved round by round.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn philox_avx2<const G: usize>(
    mut c: [[std::arch::x86_64::__m256i; 4]; G],
    key: [u32; 2],
) -> [[std::arch::x86_64::__m256i; 4]; G] {
    use std::arch::x86_64::*;
    // The 32×32→64 products of the four even lanes, then of the four odd lanes, split
    // into the eight high and the eight low halves.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mulhilo8(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
        let even = _mm256_mul_epu32(a, m);
        let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
        let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
        let lo = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
        (hi, lo)
    }
    let m0 = _mm256_set1_epi64x(i64::from(M0));
    let m1 = _mm256_set1_epi64x(i64::from(M1));
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let k0 = _mm256_set1_epi32(k[0] as i32);
        let k1 = _mm256_set1_epi32(k[1] as i32);
        for w in &mut c {
            let (hi0, lo0) = mulhilo8(w[0], m0);
            let (hi1, lo1) = mulhilo8(w[2], m1);
            *w = [
                _mm256_xor_si256(_mm256_xor_si256(hi1, w[1]), k0),
                lo1,
                _mm256_xor_si256(_mm256_xor_si256(hi0, w[3]), k1),
                lo0,
            ];
        }
    }
    c
}

/// [`philox_avx2`] on sixteen counters per set, in AVX-512 registers.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn philox_avx512<const G: usize>(
    mut c: [[std::arch::x86_64::__m512i; 4]; G],
    key: [u32; 2],
) -> [[std::arch::x86_64::__m512i; 4]; G] {
    use std::arch::x86_64::*;
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn mulhilo16(a: __m512i, m: __m512i) -> (__m512i, __m512i) {
        // Swapping the two halves of each 64-bit lane (`_MM_PERM_CDAB`) is a shuffle rather
        // than a shift, so it issues on the shuffle port while the multiplies and the
        // ternary-logic XORs hold the others; a masked shuffle also merges in one step.
        let even = _mm512_mul_epu32(a, m);
        let odd = _mm512_mul_epu32(_mm512_shuffle_epi32::<_MM_PERM_CDAB>(a), m);
        let hi = _mm512_mask_shuffle_epi32::<_MM_PERM_CDAB>(odd, 0x5555, even);
        let lo = _mm512_mask_shuffle_epi32::<_MM_PERM_CDAB>(even, 0xAAAA, odd);
        (hi, lo)
    }
    // `a ^ b ^ c` in one instruction (truth table 0x96).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn xor3(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        _mm512_ternarylogic_epi32::<0x96>(a, b, c)
    }
    let m0 = _mm512_set1_epi64(i64::from(M0));
    let m1 = _mm512_set1_epi64(i64::from(M1));
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let k0 = _mm512_set1_epi32(k[0] as i32);
        let k1 = _mm512_set1_epi32(k[1] as i32);
        for w in &mut c {
            let (hi0, lo0) = mulhilo16(w[0], m0);
            let (hi1, lo1) = mulhilo16(w[2], m1);
            *w = [xor3(hi1, w[1], k0), lo1, xor3(hi0, w[3], k1), lo0];
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123's published known-answer vectors (tests/kat_vectors).
    #[test]
    fn philox_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    /// The batched blocks are the scalar blocks, bit for bit, at every offset and length
    /// (including a remainder shorter than a group and a wrap of the person counter), and
    /// words past `n` are left alone.
    #[test]
    fn batched_lanes_equal_scalar_blocks() {
        let s = Streams::new(0x0123_4567_89ab_cdef, 11);
        for &(first, n) in &[
            (0u32, 0usize),
            (0, 1),
            (3, 8),
            (2, 16),
            (5, 29),
            (7, 31),
            (9, 256),
            (u32::MAX - 4, 13),
            (u32::MAX - 11, 40),
        ] {
            let mut out = [[7u32; 256]; 4];
            s.lanes_into(first, 17, Purpose::Month, &mut out, n);
            // Every path this CPU has, each on its own (the dispatching call takes the widest).
            let mut paths = Vec::new();
            let mut generic = [[7u32; 256]; 4];
            let done = s.lanes_into_generic(first, 17, Purpose::Month as u32, &mut generic, n);
            assert_eq!(done, n / 8 * 8);
            paths.push((generic, done));
            #[cfg(target_arch = "x86_64")]
            {
                let month = Purpose::Month as u32;
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut lanes = [[7u32; 256]; 4];
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    let done = unsafe { s.lanes_into_avx2(first, 17, month, &mut lanes, n) };
                    assert_eq!(done, n / 8 * 8);
                    paths.push((lanes, done));
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    let mut lanes = [[7u32; 256]; 4];
                    // SAFETY: the CPU supports AVX-512F (checked just above).
                    let done = unsafe { s.lanes_into_avx512(first, 17, month, &mut lanes, n) };
                    assert_eq!(done, n / 16 * 16);
                    paths.push((lanes, done));
                }
            }
            for (lanes, done) in &paths {
                for (a, b) in out.iter().zip(lanes) {
                    assert_eq!(a[..*done], b[..*done]);
                    assert!(b[*done..].iter().all(|&w| w == 7), "words past the batch");
                }
            }
            for j in 0..256 {
                let b = s.block(first.wrapping_add(j as u32), 17, Purpose::Month);
                for k in 0..4 {
                    assert_eq!(
                        out[k][j],
                        if j < n { b[k] } else { 7 },
                        "{first} {n} {j} {k}"
                    );
                }
            }
        }
    }

    /// `draws_below` splits the draws exactly where `unit` crosses `p`, including at the
    /// ends, at `f32`-rounded totals (the engine's cached bounds) and just around a draw.
    #[test]
    fn draws_below_matches_the_float_test() {
        let mut ps = vec![0.0, -1.0, 1.0, 2.0, f64::INFINITY, unit(0), unit(u32::MAX)];
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let p = (x >> 11) as f64 / (1u64 << 53) as f64;
            ps.extend([p, f64::from(p as f32), p * 1e-6, unit((x >> 32) as u32)]);
            ps.push(unit((x >> 32) as u32).next_up());
            ps.push(unit((x >> 32) as u32).next_down());
        }
        for p in ps {
            let k = draws_below(p);
            assert!(k <= 1 << 32);
            if k > 0 {
                assert!(unit((k - 1) as u32) < p, "p {p} k {k}");
            }
            if k < 1 << 32 {
                assert!(unit(k as u32) >= p, "p {p} k {k}");
            }
        }
        assert_eq!(draws_below(f64::NAN), 0);
        assert_eq!(draws_below(1.0), 1 << 32);
        assert_eq!(draws_below(0.0), 0);
    }

    #[test]
    fn unit_is_open_interval() {
        assert!(unit(0) > 0.0);
        assert!(unit(u32::MAX) < 1.0);
    }

    /// Uniformity of the lanes across persons (chi-square over 64 bins, 256k draws per
    /// lane); the 0.9999 quantile of chi-square(63) is about 114.
    #[test]
    fn lanes_are_uniform_across_persons() {
        let s = Streams::new(42, 7);
        for lane in 0..4 {
            let mut bins = [0u32; 64];
            let n = 1 << 18;
            for p in 0..n {
                let b = s.block(p, 3, Purpose::Month)[lane];
                bins[(b >> 26) as usize] += 1;
            }
            let e = f64::from(n) / 64.0;
            let chi: f64 = bins.iter().map(|&o| (f64::from(o) - e).powi(2) / e).sum();
            assert!(chi < 114.0, "lane {lane}: chi-square {chi}");
        }
    }

    #[test]
    fn sequence_is_reproducible() {
        use rand::Rng;
        let s = Streams::new(1, 2);
        let mut a = s.sequence(5, 0, Purpose::Person);
        let mut b = s.sequence(5, 0, Purpose::Person);
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = s.sequence(6, 0, Purpose::Person);
        assert_ne!(a.next_u64(), c.next_u64());
    }

    /// A sequence given its first blocks from the batched lanes draws exactly what the
    /// sequence computing every block itself draws, within the given blocks and past them
    /// (and with fewer blocks given than it could keep, or more).
    #[test]
    fn sequences_from_batched_first_blocks_are_the_sequences() {
        use rand::Rng;
        let s = Streams::new(0xfeed_beef_0000_0042, 3);
        const N: usize = 37;
        let first = u32::MAX - 20;
        for slot in [0u32, 1, 7] {
            let mut lanes = [[[0u32; N]; 4]; PRECOMPUTED + 1];
            for (b, l) in lanes.iter_mut().enumerate() {
                s.sequence_lanes_into(first, slot, Purpose::Person, b as u32, l, N);
            }
            for j in 0..N {
                let person = first.wrapping_add(j as u32);
                let blocks: Vec<[u32; 4]> = lanes
                    .iter()
                    .map(|l| std::array::from_fn(|w| l[w][j]))
                    .collect();
                for given in [0, 1, PRECOMPUTED, PRECOMPUTED + 1] {
                    let mut plain = s.sequence(person, slot, Purpose::Person);
                    let mut pre = s.sequence_from(person, slot, Purpose::Person, &blocks[..given]);
                    for _ in 0..4 * (PRECOMPUTED + 2) {
                        assert_eq!(plain.next_u32(), pre.next_u32(), "slot {slot} person {j}");
                    }
                }
            }
        }
    }
}
