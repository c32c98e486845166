import numpy as np
import pytest

from hyperion.foundations import GradcheckError, gradcheck, numerical_gradient


def test_numerical_gradient_of_a_quadratic_matches_the_closed_form():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    a = rng.standard_normal((3, 4))
    grad = numerical_gradient(lambda x: float(np.sum(a * x**2)), [x], 0)
    np.testing.assert_allclose(grad, 2 * a * x, rtol=1e-7, atol=1e-8)


def test_numerical_gradient_leaves_the_input_unchanged():
    x = np.linspace(-1, 1, 7)
    before = x.copy()
    numerical_gradient(lambda x: float(np.sum(np.sin(x))), [x], 0)
    np.testing.assert_array_equal(x, before)


def test_gradcheck_accepts_a_correct_gradient_of_two_inputs():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    assert gradcheck(lambda x, y: float(np.sum(x * np.exp(y))), [x, y], [np.exp(y), x * np.exp(y)])


def test_gradcheck_names_the_input_and_element_of_a_wrong_gradient():
    x = np.array([1.0, 2.0, 3.0])
    wrong = 2 * x
    wrong[1] += 0.5
    with pytest.raises(GradcheckError, match=r"input 0 .* index \(1,\)"):
        gradcheck(lambda x: float(np.sum(x**2)), [x], [wrong])


def test_gradcheck_rejects_a_gradient_of_the_wrong_shape():
    x = np.ones((2, 3))
    with pytest.raises(GradcheckError, match="shape"):
        gradcheck(lambda x: float(np.sum(x)), [x], [np.ones(6)])


def test_integer_inputs_are_refused():
    with pytest.raises(TypeError, match="floating"):
        numerical_gradient(lambda x: float(np.sum(x)), [np.arange(3)], 0)
