//! How weights are stored and multiplied: fp32, fp16 storage, or int8 weights with dynamic
//! activation quantisation. Every matrix product with a constant goes through [`Emitter`], so
//! the graph code stays precision-agnostic.
//!
//! - `fp16`: matrices are stored as IEEE half and `Cast` to float32 in the graph; ORT folds the
//!   casts at load, so the file is half the size and CPU compute stays fp32 (ORT's CPU provider
//!   has no fp16 kernels for most ops here, so a full-fp16 graph would not run or would run
//!   slower on CPU). GPU users get fp16 compute from TensorRT's own fp16 option.
//! - `int8`: the standard ONNX dynamic-quantisation pattern that ONNX Runtime's own
//!   `quantize_dynamic` writes and fuses (into `DynamicQuantizeMatMul` on CPU):
//!   `DynamicQuantizeLinear(x)` (uint8, per tensor) → `MatMulInteger` with int8 weights
//!   (symmetric, one scale per output column) → `Cast` → `Mul` by `x_scale · w_scale`.
//!   The activation scale is per tensor, so a sample's result depends slightly on the other
//!   samples of its batch.
//! - `int8-nbits`: ONNX Runtime's `com.microsoft.MatMulNBits` (bits 8, blocks of 32 along the
//!   input axis, int8 compute with `accuracy_level` 4) for the 2-D weights; the experts'
//!   batched weights use the `int8` pattern. Not a standard op: ORT's CPU/CUDA providers only.
//!   Block-wise scales follow the weights more closely than per-column ones.

use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{Attr, GraphBuilder};
use tch::{Device, Kind, Tensor};

/// How the exported file stores its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    Fp32,
    Fp16,
    Int8,
    Int8Nbits,
}

impl WeightFormat {
    /// The `moae.precision` metadata value.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Fp32 => "fp32",
            WeightFormat::Fp16 => "fp16",
            WeightFormat::Int8 | WeightFormat::Int8Nbits => "int8",
        }
    }
}

/// A float32 CPU copy of `t`'s values, row-major.
pub fn values(t: &Tensor) -> Vec<f32> {
    let t = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous()
        .view([-1]);
    Vec::<f32>::try_from(&t).expect("a contiguous float32 CPU tensor converts")
}

/// Symmetric per-column int8 quantisation of `wt` [.., din, dout] over `din`: returns the
/// int8 values and the scales [.., 1, dout]. An all-zero column (e.g. a zero-initialised W_o)
/// gets scale 1 so that no NaN appears.
pub fn quantize_columns(wt: &Tensor) -> (Tensor, Tensor) {
    let wt = wt.detach().to_device(Device::Cpu).to_kind(Kind::Float);
    let absmax = wt.abs().amax([-2i64].as_slice(), true);
    let scale = (&absmax / 127.0).where_self(&absmax.gt(0.0), &absmax.ones_like());
    let q = (&wt / &scale)
        .round()
        .clamp(-127.0, 127.0)
        .to_kind(Kind::Int8);
    (q, scale)
}

/// Adds constants and constant matrix products to a graph in one [`WeightFormat`].
pub struct Emitter {
    pub g: GraphBuilder,
    pub format: WeightFormat,
}

impl Emitter {
    pub fn new(g: GraphBuilder, format: WeightFormat) -> Self {
        Emitter { g, format }
    }

    /// A float32 constant stored exactly (biases, norms, small or precision-critical values).
    pub fn f32(&mut self, name: &str, t: &Tensor) -> String {
        self.g.initializer_f32(name, &t.size(), &values(t))
    }

    /// A float constant in the file's storage precision: matrices (2+ dims) become fp16 + Cast
    /// in `fp16` files; everything else stays float32.
    pub fn weight(&mut self, name: &str, t: &Tensor) -> String {
        if self.format == WeightFormat::Fp16 && t.dim() >= 2 {
            let h = self
                .g
                .initializer_f16(&format!("{name}.fp16"), &t.size(), &values(t));
            let cast = Attr::int("to", DataType::Float as i64);
            self.g.op_named("Cast", &[&h], name, vec![cast])
        } else {
            self.f32(name, t)
        }
    }

    /// `x @ wt` for a constant `wt` [.., din, dout] (batch dims broadcast like `MatMul`).
    /// `quantizable` false keeps the product in float (routing logits, the classifier).
    pub fn matmul(&mut self, x: &str, name: &str, wt: &Tensor, quantizable: bool) -> String {
        match self.format {
            WeightFormat::Int8Nbits if quantizable && wt.dim() == 2 => {
                return self.matmul_nbits(x, name, wt)
            }
            WeightFormat::Int8 | WeightFormat::Int8Nbits if quantizable => {
                return self.matmul_int8(x, name, wt)
            }
            _ => {}
        }
        let w = self.weight(name, wt);
        self.g.op("MatMul", &[x, &w], vec![])
    }

    fn matmul_int8(&mut self, x: &str, name: &str, wt: &Tensor) -> String {
        let (q, scale) = quantize_columns(wt);
        let qv: Vec<i8> = Vec::<i8>::try_from(&q.contiguous().view([-1])).expect("int8 values");
        let w = self
            .g
            .initializer_i8(&format!("{name}.int8"), &q.size(), &qv);
        let ws = self.f32(&format!("{name}.scale"), &scale);
        let outs = self.g.node(
            "DynamicQuantizeLinear",
            &[x],
            &["xq", "xq_scale", "xq_zero"],
            vec![],
        );
        let acc = self
            .g
            .op("MatMulInteger", &[&outs[0], &w, &outs[2]], vec![]);
        let accf = self.g.op(
            "Cast",
            &[&acc],
            vec![Attr::int("to", DataType::Float as i64)],
        );
        let s = self.g.op("Mul", &[&outs[1], &ws], vec![]);
        self.g.op("Mul", &[&accf, &s], vec![])
    }

    /// `MatMulNBits` with 8-bit blocks: `wt` [K, N] is stored transposed as [N, K/bs, bs]
    /// unsigned bytes (zero point 128, K zero-padded to a whole block) with one scale per block.
    fn matmul_nbits(&mut self, x: &str, name: &str, wt: &Tensor) -> String {
        const BS: i64 = 32;
        let w = wt
            .detach()
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .transpose(0, 1); // [N,K]
        let (n, k) = (w.size()[0], w.size()[1]);
        let blocks = (k + BS - 1) / BS;
        let w = w
            .constant_pad_nd([0, blocks * BS - k])
            .view([n, blocks, BS]);
        let absmax = w.abs().amax([-1i64].as_slice(), true);
        let scale = (&absmax / 127.0).where_self(&absmax.gt(0.0), &absmax.ones_like());
        let q = ((&w / &scale).round().clamp(-127.0, 127.0) + 128.0).to_kind(Kind::Uint8);
        let qv = Vec::<u8>::try_from(&q.contiguous().view([-1])).expect("uint8 values");
        let b = self
            .g
            .initializer_u8(&format!("{name}.nbits"), &[n, blocks, BS], &qv);
        let sc = self
            .g
            .initializer_f32(&format!("{name}.scales"), &[n * blocks], &values(&scale));
        let attrs = vec![
            Attr::int("K", k),
            Attr::int("N", n),
            Attr::int("bits", 8),
            Attr::int("block_size", BS),
            Attr::int("accuracy_level", 4),
        ];
        self.g
            .node_in(
                "com.microsoft",
                "MatMulNBits",
                &[x, &b, &sc],
                &["matmulnbits"],
                attrs,
            )
            .remove(0)
    }

    /// `x @ wᵀ + b` for a torch-layout linear weight `w` [dout, din].
    pub fn linear(&mut self, x: &str, name: &str, w: &Tensor, b: Option<&Tensor>) -> String {
        let y = self.matmul(x, &format!("{name}.weight"), &w.transpose(0, 1), true);
        match b {
            Some(b) => {
                let b = self.f32(&format!("{name}.bias"), b);
                self.g.op("Add", &[&y, &b], vec![])
            }
            None => y,
        }
    }

    /// A 1-D int64 constant (shapes, axes).
    pub fn ints(&mut self, base: &str, v: &[i64]) -> String {
        self.g.const_i64(base, v)
    }

    /// A 0-d int64 constant (a `Gather` index that drops the axis).
    pub fn index(&mut self, base: &str, v: i64) -> String {
        self.g.initializer_i64(base, &[], &[v])
    }

    pub fn scalar(&mut self, base: &str, v: f32) -> String {
        self.g.scalar_f32(base, v)
    }
}
