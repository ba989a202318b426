//! Statistics of training data, summed by tasks and merged in a tree (Spark's `Summarizer`
//! as its estimators use it).

use crate::dataset::InstanceBlock;
use crate::{Error, Result};
use ember_core::{Fn, Rdd};
use serde::{Deserialize, Serialize};

/// The largest label a classifier takes: labels index classes, kept one count each.
const MAX_LABEL: f64 = 1_000_000.0;

/// Weights, label counts and per-feature sums of a set of instances.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct FeatureSummary {
    pub(crate) num_features: usize,
    pub(crate) count: u64,
    pub(crate) weight_sum: f64,
    pub(crate) weight_square_sum: f64,
    /// Σ w·x of each feature.
    sums: Vec<f64>,
    /// Σ w·x² of each feature.
    square_sums: Vec<f64>,
    /// Σ w·y and Σ w·y² of the labels.
    label_sum: f64,
    label_square_sum: f64,
    /// The weight of each label, when labels are class indices.
    pub(crate) label_weights: Vec<f64>,
    /// A label that is no class index (negative, fractional or huge), if any was seen.
    bad_label: Option<f64>,
}

impl FeatureSummary {
    /// The summary of `blocks`, merged in a tree of `depth` levels.
    ///
    /// # Errors
    /// The job failed.
    pub(crate) fn of(blocks: &Rdd<InstanceBlock>, depth: usize) -> Result<FeatureSummary> {
        let summary = blocks.tree_aggregate(
            FeatureSummary::default(),
            Fn!(|s: FeatureSummary, block: InstanceBlock| s.add(&block)),
            Fn!(|a: FeatureSummary, b: FeatureSummary| a.merge(b)),
            depth.max(1),
        )?;
        if summary.count == 0 {
            return Err(Error::Input(
                "the training data has no rows; fit on a DataFrame with rows".into(),
            ));
        }
        Ok(summary)
    }

    fn add(mut self, block: &InstanceBlock) -> FeatureSummary {
        if self.count == 0 {
            self.num_features = block.num_features();
            self.sums = vec![0.0; self.num_features];
            self.square_sums = vec![0.0; self.num_features];
        }
        for i in 0..block.len() {
            let w = block.weight(i);
            self.count += 1;
            self.weight_sum += w;
            self.weight_square_sum += w * w;
            let (sums, squares) = (&mut self.sums, &mut self.square_sums);
            block.for_each_active(i, |j, x| {
                sums[j] += w * x;
                squares[j] += w * x * x;
            });
            let label = block.label(i);
            self.label_sum += w * label;
            self.label_square_sum += w * label * label;
            if label >= 0.0 && label.fract() == 0.0 && label < MAX_LABEL {
                let class = label as usize;
                if self.label_weights.len() <= class {
                    self.label_weights.resize(class + 1, 0.0);
                }
                self.label_weights[class] += w;
            } else if self.bad_label.is_none() {
                self.bad_label = Some(label);
            }
        }
        self
    }

    fn merge(mut self, other: FeatureSummary) -> FeatureSummary {
        if other.count == 0 {
            return self;
        }
        if self.count == 0 {
            return other;
        }
        self.count += other.count;
        self.weight_sum += other.weight_sum;
        self.weight_square_sum += other.weight_square_sum;
        self.label_sum += other.label_sum;
        self.label_square_sum += other.label_square_sum;
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        for (a, b) in self.square_sums.iter_mut().zip(&other.square_sums) {
            *a += b;
        }
        if self.label_weights.len() < other.label_weights.len() {
            self.label_weights.resize(other.label_weights.len(), 0.0);
        }
        for (a, b) in self.label_weights.iter_mut().zip(&other.label_weights) {
            *a += b;
        }
        self.bad_label = self.bad_label.or(other.bad_label);
        self
    }

    /// Each feature's weighted mean.
    pub(crate) fn mean(&self) -> Vec<f64> {
        self.sums.iter().map(|s| s / self.weight_sum).collect()
    }

    /// Each feature's unbiased weighted standard deviation (`n - 1` for unit weights), as
    /// Spark's `Summarizer` gives it; 0 for a single row.
    pub(crate) fn std(&self) -> Vec<f64> {
        self.mean()
            .iter()
            .zip(&self.square_sums)
            .map(|(&mean, &squares)| self.unbiased_std(mean, squares))
            .collect()
    }

    /// The labels' weighted mean.
    pub(crate) fn label_mean(&self) -> f64 {
        self.label_sum / self.weight_sum
    }

    /// The labels' unbiased weighted standard deviation, as [`FeatureSummary::std`].
    pub(crate) fn label_std(&self) -> f64 {
        self.unbiased_std(self.label_mean(), self.label_square_sum)
    }

    /// The deviation of a quantity of weighted mean `mean` whose weighted squares sum to
    /// `squares`.
    fn unbiased_std(&self, mean: f64, squares: f64) -> f64 {
        let w = self.weight_sum;
        let denominator = w - self.weight_square_sum / w;
        if denominator > 0.0 {
            ((squares - w * mean * mean) / denominator).max(0.0).sqrt()
        } else {
            0.0
        }
    }

    /// Checks that every label is a class index below `classes`.
    ///
    /// # Errors
    /// A label that is not, naming the column.
    pub(crate) fn require_class_labels(&self, column: &str, classes: usize) -> Result<()> {
        let bad = self.bad_label.or_else(|| {
            (self.label_weights.len() > classes).then(|| (self.label_weights.len() - 1) as f64)
        });
        match bad {
            Some(label) => Err(Error::Input(format!(
                "label column {column} has the label {label}, but labels must be the class \
                 indices 0 to {} (StringIndexer turns other labels into indices)",
                classes - 1
            ))),
            None => Ok(()),
        }
    }
}
