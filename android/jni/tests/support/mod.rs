//! Test fixtures for the host JVM test: a tiny libmoae-format ONNX model and synthetic frames.

use moae_onnx::meta::{self, ModelMeta};

/// Side of the tiny model's square input.
pub const INPUT_SIZE: u32 = 16;

/// Protobuf wire-format writer, just what ONNX's messages need (keeps this test independent
/// of the exporter's graph builder).
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.varint(u64::from(field << 3));
        self.varint(v as u64);
        self
    }
    fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.varint(u64::from((field << 3) | 2));
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn str(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }
    fn msg(&mut self, field: u32, m: &Pb) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

// ONNX field numbers (onnx.proto): NodeProto input=1 output=2 op_type=4 attribute=5;
// AttributeProto name=1 i=3 type=20 (INT=2); TensorProto dims=1 data_type=2 name=8 raw_data=9;
// GraphProto node=1 name=2 initializer=5 input=11 output=12; ModelProto ir_version=1
// producer_name=2 graph=7 opset_import=8 metadata_props=14.
fn node(op: &str, inputs: &[&str], output: &str, attrs: &[(&str, i64)]) -> Pb {
    let mut n = Pb::default();
    for i in inputs {
        n.str(1, i);
    }
    n.str(2, output).str(4, op);
    for (name, v) in attrs {
        let mut a = Pb::default();
        a.str(1, name).int(3, *v).int(20, 2);
        n.msg(5, &a);
    }
    n
}

fn tensor(name: &str, dims: &[i64], data_type: i64, raw: Vec<u8>) -> Pb {
    let mut t = Pb::default();
    for d in dims {
        t.int(1, *d);
    }
    t.int(2, data_type).str(8, name).bytes(9, &raw);
    t
}

fn value_info(name: &str, dims: &[Result<i64, &str>]) -> Pb {
    let mut shape = Pb::default();
    for d in dims {
        let mut dim = Pb::default();
        match d {
            Ok(v) => dim.int(1, *v),
            Err(p) => dim.str(2, p),
        };
        shape.msg(1, &dim);
    }
    let mut tt = Pb::default();
    tt.int(1, 1).msg(2, &shape); // elem_type FLOAT
    let mut ty = Pb::default();
    ty.msg(1, &tt);
    let mut vi = Pb::default();
    vi.str(1, name).msg(2, &ty);
    vi
}

/// A small but position-sensitive model in the exported format: logits = flatten(pixels) @ W
/// + b with fixed pseudo-random W, so rotation, crop and colour changes all move the score.
pub fn tiny_model(threshold: f32) -> Vec<u8> {
    let s = i64::from(INPUT_SIZE);
    let n = (3 * s * s) as usize;
    let mut seed = 0x2545_f491_u32;
    let w: Vec<f32> = (0..n * 2)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            ((seed % 2001) as f32 / 1000.0 - 1.0) * 0.05
        })
        .collect();
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let mut g = Pb::default();
    g.msg(
        1,
        &node("Flatten", &[meta::INPUT_PIXELS], "flat", &[("axis", 1)]),
    );
    g.msg(1, &node("MatMul", &["flat", "W"], "mw", &[]));
    g.msg(1, &node("Add", &["mw", "B"], meta::OUTPUT_LOGITS, &[]));
    g.msg(
        1,
        &node("Softmax", &[meta::OUTPUT_LOGITS], "p", &[("axis", 1)]),
    );
    g.msg(
        1,
        &node(
            "Gather",
            &["p", "one"],
            meta::OUTPUT_ATTACK_SCORE,
            &[("axis", 1)],
        ),
    );
    g.str(2, "moae-jni-test");
    g.msg(5, &tensor("W", &[n as i64, 2], 1, f32s(&w)));
    g.msg(5, &tensor("B", &[2], 1, f32s(&[0.1, -0.1])));
    g.msg(5, &tensor("one", &[], 7, 1i64.to_le_bytes().to_vec())); // INT64 scalar
    g.msg(
        11,
        &value_info(meta::INPUT_PIXELS, &[Err("N"), Ok(3), Ok(s), Ok(s)]),
    );
    g.msg(12, &value_info(meta::OUTPUT_LOGITS, &[Err("N"), Ok(2)]));
    g.msg(12, &value_info(meta::OUTPUT_ATTACK_SCORE, &[Err("N")]));
    let mut m = Pb::default();
    m.int(1, 8).str(2, "moae-jni-tests");
    m.msg(7, &g);
    let mut opset = Pb::default();
    opset.str(1, "").int(2, 17);
    m.msg(8, &opset);
    let meta = ModelMeta {
        format_version: meta::FORMAT_VERSION,
        config_json: "{}".into(),
        preset: "test".into(),
        variant: "flat-linear".into(),
        input_size: INPUT_SIZE,
        mean: [0.481_454_66, 0.457_827_5, 0.408_210_73],
        std: [0.268_629_54, 0.261_302_6, 0.275_777_1],
        classes: meta::CLASSES.iter().map(|s| s.to_string()).collect(),
        threshold,
        threshold_calibrated: false,
        precision: "fp32".into(),
        checkpoint_sha256: String::new(),
        producer: "moae-jni tests".into(),
    };
    for (k, v) in meta.to_props() {
        let mut e = Pb::default();
        e.str(1, &k).str(2, &v);
        m.msg(14, &e);
    }
    m.0
}

/// A deterministic, non-symmetric test pattern value for pixel (x, y), channel c.
pub fn pattern(x: u32, y: u32, c: u32, seed: u32) -> u8 {
    let v = x.wrapping_mul(7 + c) ^ y.wrapping_mul(13 + 3 * c) ^ seed.wrapping_mul(31);
    (v.wrapping_add(x * y / 3) % 251) as u8
}

/// RGBA rows of `stride` bytes (padding bytes are 0xEE, never read as pixels).
pub fn rgba(w: u32, h: u32, stride: usize, seed: u32) -> Vec<u8> {
    let mut out = vec![0xEE; stride * h as usize];
    for y in 0..h {
        for x in 0..w {
            let o = y as usize * stride + x as usize * 4;
            for c in 0..3 {
                out[o + c as usize] = pattern(x, y, c, seed);
            }
            out[o + 3] = 255;
        }
    }
    out
}

/// A Y plane of `y_stride` and an interleaved V,U plane of `uv_stride` (NV21 order).
pub fn yuv_planes(
    w: u32,
    h: u32,
    y_stride: usize,
    uv_stride: usize,
    seed: u32,
) -> (Vec<u8>, Vec<u8>) {
    let mut y = vec![0x10; y_stride * h as usize];
    for r in 0..h {
        for x in 0..w {
            y[r as usize * y_stride + x as usize] = pattern(x, r, 0, seed);
        }
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut vu = vec![0x80; uv_stride * ch as usize];
    for r in 0..ch {
        for x in 0..cw {
            let o = r as usize * uv_stride + 2 * x as usize;
            vu[o] = pattern(x, r, 1, seed).wrapping_add(64);
            vu[o + 1] = pattern(x, r, 2, seed).wrapping_sub(32);
        }
    }
    (y, vu)
}
