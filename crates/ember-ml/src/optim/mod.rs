//! Optimizers the estimators train with: the driver holds the model's coefficients and steps
//! them; each evaluation of the objective is one pass over the cached training blocks, whose
//! tasks return partial sums of loss and gradient merged in a tree (Spark's
//! `RDDLossFunction` over `treeAggregate`). Least squares can instead be solved in one pass by
//! the normal equations ([`weighted_least_squares`]).

pub(crate) mod lbfgs;
pub(crate) mod weighted_least_squares;
