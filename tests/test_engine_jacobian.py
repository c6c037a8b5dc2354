"""The generated Jacobian's sparsity, as solvers outside the kernel use it (issue 18)."""
import numpy as np

from opiaxis.engine.codegen import compile_model
from opiaxis.model import Module, compose


def test_generated_jacobian_matches_finite_differences():
    """JAC_ROW/JAC_COL (what the SciPy benchmark hands to BDF/LSODA) place jac()'s values where
    the derivatives of rhs() are, and nowhere else is a derivative nonzero."""
    m = Module("toy")
    k = m.parameter("k", 2.0, "1/h", "assumed: test")
    kd = m.parameter("kd", 0.3, "mg", "assumed: test")
    a = m.state("a", "mg", 1.0)
    b = m.state("b", "mg", 0.5)
    e = m.state("e", "dimensionless", 0.2)
    m.ode(a, -k * a)
    m.ode(b, k * a - k * b / (1 + b / kd))
    m.ode(e, k * (b / (b + kd) - e))
    model = compose([m])
    mod = compile_model(model)
    p = model.default_parameters()
    x = np.array([0.7, 0.4, 0.3])
    jv = np.empty(len(mod.JAC_ROW))
    mod.jac(x, p, jv)
    J = np.zeros((3, 3))
    np.add.at(J, (mod.JAC_ROW, mod.JAC_COL), jv)
    fd = np.zeros((3, 3))
    r = np.zeros(3)
    for j in range(3):
        hi, lo, f1, f0 = x.copy(), x.copy(), np.empty(3), np.empty(3)
        hi[j] += 1e-6
        lo[j] -= 1e-6
        mod.rhs(hi, p, r, f1)
        mod.rhs(lo, p, r, f0)
        fd[:, j] = (f1 - f0) / 2e-6
    np.testing.assert_allclose(J, fd, rtol=1e-7, atol=1e-9)
    assert J[0, 1] == 0.0 and J[2, 0] == 0.0
