"""Small helpers shared by the GUI tests."""
import numpy as np


def square_mask(h=64, w=96, box=(20, 16, 44, 40)) -> np.ndarray:
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m
