//! A small ONNX graph builder: initializers from Rust slices, nodes with generated unique
//! names, inputs/outputs with a symbolic batch dimension, and the finished `ModelProto`.
//! Tensor data is stored as little-endian `raw_data` (compact, and what ONNX tools expect).

use crate::meta::{ModelMeta, CLASSES, OUTPUT_ATTACK_SCORE, OUTPUT_LOGITS};
use crate::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use std::collections::{BTreeSet, HashSet};

/// One dimension of a graph input/output.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Fixed(i64),
    /// A symbolic dimension such as the batch `N`.
    Sym(String),
}

impl Dim {
    /// The symbolic batch dimension used by every libmoae graph.
    pub fn batch() -> Dim {
        Dim::Sym("N".into())
    }
}

impl From<i64> for Dim {
    fn from(v: i64) -> Dim {
        Dim::Fixed(v)
    }
}

/// Node attribute constructors.
pub struct Attr;

impl Attr {
    fn base(name: &str, ty: AttributeType) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            r#type: Some(ty as i32),
            ..Default::default()
        }
    }
    pub fn int(name: &str, v: i64) -> AttributeProto {
        AttributeProto {
            i: Some(v),
            ..Self::base(name, AttributeType::Int)
        }
    }
    pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            ints: v.to_vec(),
            ..Self::base(name, AttributeType::Ints)
        }
    }
    pub fn float(name: &str, v: f32) -> AttributeProto {
        AttributeProto {
            f: Some(v),
            ..Self::base(name, AttributeType::Float)
        }
    }
    pub fn floats(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto {
            floats: v.to_vec(),
            ..Self::base(name, AttributeType::Floats)
        }
    }
    pub fn string(name: &str, v: &str) -> AttributeProto {
        AttributeProto {
            s: Some(v.as_bytes().to_vec()),
            ..Self::base(name, AttributeType::String)
        }
    }
    pub fn tensor(name: &str, t: TensorProto) -> AttributeProto {
        AttributeProto {
            t: Some(t),
            ..Self::base(name, AttributeType::Tensor)
        }
    }
}

/// Builds one `GraphProto`. Names passed in are kept when free and made unique otherwise;
/// every method returns the name actually used, so callers chain on return values.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    name: String,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    used: HashSet<String>,
    counter: usize,
}

fn numel(dims: &[i64]) -> usize {
    dims.iter().map(|&d| d.max(0) as usize).product()
}

impl GraphBuilder {
    pub fn new(name: &str) -> Self {
        GraphBuilder {
            name: name.into(),
            ..Default::default()
        }
    }

    /// A fresh value name starting with `base` (kept as is when still free).
    pub fn unique(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "v" } else { base };
        let mut name = base.to_string();
        while self.used.contains(&name) {
            self.counter += 1;
            name = format!("{base}_{}", self.counter);
        }
        self.used.insert(name.clone());
        name
    }

    fn raw_tensor(&mut self, name: &str, dims: &[i64], ty: DataType, raw: Vec<u8>) -> String {
        let name = self.unique(name);
        self.initializers.push(TensorProto {
            name: Some(name.clone()),
            dims: dims.to_vec(),
            data_type: Some(ty as i32),
            raw_data: Some(raw),
            ..Default::default()
        });
        name
    }

    fn check_len(name: &str, dims: &[i64], len: usize) {
        // A mismatch is a bug in the exporter, not bad user input.
        assert_eq!(
            numel(dims),
            len,
            "initializer {name}: dims {dims:?} vs {len} values"
        );
    }

    pub fn initializer_f32(&mut self, name: &str, dims: &[i64], data: &[f32]) -> String {
        Self::check_len(name, dims, data.len());
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.raw_tensor(name, dims, DataType::Float, raw)
    }

    /// Stores `data` rounded to IEEE half precision.
    pub fn initializer_f16(&mut self, name: &str, dims: &[i64], data: &[f32]) -> String {
        Self::check_len(name, dims, data.len());
        let raw = data
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        self.raw_tensor(name, dims, DataType::Float16, raw)
    }

    pub fn initializer_i64(&mut self, name: &str, dims: &[i64], data: &[i64]) -> String {
        Self::check_len(name, dims, data.len());
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.raw_tensor(name, dims, DataType::Int64, raw)
    }

    pub fn initializer_i32(&mut self, name: &str, dims: &[i64], data: &[i32]) -> String {
        Self::check_len(name, dims, data.len());
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.raw_tensor(name, dims, DataType::Int32, raw)
    }

    pub fn initializer_i8(&mut self, name: &str, dims: &[i64], data: &[i8]) -> String {
        Self::check_len(name, dims, data.len());
        let raw = data.iter().map(|v| *v as u8).collect();
        self.raw_tensor(name, dims, DataType::Int8, raw)
    }

    pub fn initializer_u8(&mut self, name: &str, dims: &[i64], data: &[u8]) -> String {
        Self::check_len(name, dims, data.len());
        self.raw_tensor(name, dims, DataType::Uint8, data.to_vec())
    }

    /// A 1-D int64 constant, e.g. a shape for `Reshape` or axes for `Unsqueeze`.
    pub fn const_i64(&mut self, base: &str, data: &[i64]) -> String {
        self.initializer_i64(base, &[data.len() as i64], data)
    }

    /// A scalar float32 constant.
    pub fn scalar_f32(&mut self, base: &str, v: f32) -> String {
        self.initializer_f32(base, &[], &[v])
    }

    /// Adds a node in the default domain with explicit output names (made unique).
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> Vec<String> {
        self.node_in("", op, inputs, outputs, attrs)
    }

    /// Adds a node of an operator domain such as `com.microsoft`; `finish` imports every
    /// domain used.
    pub fn node_in(
        &mut self,
        domain: &str,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> Vec<String> {
        let outputs: Vec<String> = outputs.iter().map(|o| self.unique(o)).collect();
        let node_name = self.unique(&format!("{op}_node"));
        self.nodes.push(NodeProto {
            name: Some(node_name),
            op_type: Some(op.into()),
            domain: (!domain.is_empty()).then(|| domain.to_string()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.clone(),
            attribute: attrs,
            ..Default::default()
        });
        outputs
    }

    /// A single-output node whose output gets a fresh name derived from the op type.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let base = op.to_ascii_lowercase();
        self.node(op, inputs, &[&base], attrs).remove(0)
    }

    /// Like [`GraphBuilder::op`] with a chosen output base name.
    pub fn op_named(
        &mut self,
        op: &str,
        inputs: &[&str],
        out: &str,
        attrs: Vec<AttributeProto>,
    ) -> String {
        self.node(op, inputs, &[out], attrs).remove(0)
    }

    fn value_info(name: &str, ty: DataType, dims: &[Dim]) -> ValueInfoProto {
        let dim = dims
            .iter()
            .map(|d| tensor_shape_proto::Dimension {
                value: Some(match d {
                    Dim::Fixed(v) => tensor_shape_proto::dimension::Value::DimValue(*v),
                    Dim::Sym(s) => tensor_shape_proto::dimension::Value::DimParam(s.clone()),
                }),
                ..Default::default()
            })
            .collect();
        ValueInfoProto {
            name: Some(name.into()),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: Some(ty as i32),
                    shape: Some(TensorShapeProto { dim }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Declares a graph input; the name is used verbatim (it is the model's API).
    pub fn input(&mut self, name: &str, ty: DataType, dims: &[Dim]) -> String {
        self.used.insert(name.into());
        self.inputs.push(Self::value_info(name, ty, dims));
        name.into()
    }

    /// Declares `value` as a graph output called `name`: an `Identity` node renames it, so the
    /// public output names never depend on how the graph was built.
    pub fn output(&mut self, value: &str, name: &str, ty: DataType, dims: &[Dim]) {
        self.used.insert(name.into());
        let node_name = self.unique(&format!("{name}_output"));
        self.nodes.push(NodeProto {
            name: Some(node_name),
            op_type: Some("Identity".into()),
            input: vec![value.into()],
            output: vec![name.into()],
            ..Default::default()
        });
        self.outputs.push(Self::value_info(name, ty, dims));
    }

    /// The libmoae output contract (see [`crate::meta`]) on top of `logits` [batch, 2]:
    /// outputs `logits` as they are and `attack_score` [batch] = softmax(logits)[:, attack].
    /// Every libmoae graph ends here, so the runtime reads one shape of model.
    pub fn classifier_outputs(&mut self, logits: &str, batch: &Dim) {
        let probs = self.op("Softmax", &[logits], vec![Attr::int("axis", -1)]);
        let attack = CLASSES.iter().position(|c| *c == "attack").unwrap_or(1) as i64;
        // A scalar index, so that Gather drops the class axis: [batch, 2] -> [batch].
        let index = self.initializer_i64("attack_index", &[], &[attack]);
        let score = self.op("Gather", &[&probs, &index], vec![Attr::int("axis", 1)]);
        let two = Dim::Fixed(CLASSES.len() as i64);
        self.output(
            logits,
            OUTPUT_LOGITS,
            DataType::Float,
            &[batch.clone(), two],
        );
        self.output(
            &score,
            OUTPUT_ATTACK_SCORE,
            DataType::Float,
            std::slice::from_ref(batch),
        );
    }

    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The finished model: the default-domain opset `opset` plus version 1 of every other
    /// domain used, and `meta` (when given) as `metadata_props`.
    pub fn finish(
        self,
        opset: i64,
        ir_version: i64,
        producer: &str,
        meta: Option<&ModelMeta>,
    ) -> ModelProto {
        let mut domains: BTreeSet<String> = BTreeSet::new();
        for n in &self.nodes {
            if let Some(d) = n.domain.as_deref().filter(|d| !d.is_empty()) {
                domains.insert(d.to_string());
            }
        }
        let mut opset_import = vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }];
        opset_import.extend(domains.into_iter().map(|d| OperatorSetIdProto {
            domain: Some(d),
            version: Some(1),
        }));
        let metadata_props = meta
            .map(|m| {
                m.to_props()
                    .into_iter()
                    .map(|(k, v)| StringStringEntryProto {
                        key: Some(k),
                        value: Some(v),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (name, version) = match producer.split_once(' ') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (producer.to_string(), None),
        };
        ModelProto {
            ir_version: Some(ir_version),
            opset_import,
            producer_name: Some(name),
            producer_version: version,
            graph: Some(GraphProto {
                name: Some(self.name),
                node: self.nodes,
                initializer: self.initializers,
                input: self.inputs,
                output: self.outputs,
                ..Default::default()
            }),
            metadata_props,
            ..Default::default()
        }
    }
}
