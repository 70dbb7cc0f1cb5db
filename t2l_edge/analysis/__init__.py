"""The paper-style analyses behind `t2l-edge plot` (matplotlib and scikit-learn: the `plot` extra)."""
