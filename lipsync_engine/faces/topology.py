"""Index sets into MediaPipe's 468-point face mesh that the engine relies on."""
from __future__ import annotations

# Points that move with the head but not with speech: eye corners and the nose ridge.
LEFT_EYE = (33, 133)
RIGHT_EYE = (362, 263)
NOSE = (168, 6, 197, 195, 5, 4, 1, 2, 98, 327)
STABLE = LEFT_EYE + RIGHT_EYE + NOSE

# Lips, clockwise from the left mouth corner (image left).
OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14
UPPER_LIP_OUTER, LOWER_LIP_OUTER = 0, 17
CHIN = 152

# Lower face outline, from the left cheek at nose height down round the chin to the right cheek.
LOWER_FACE = (
    234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454,
)
NOSE_TIP = 1
# Cheeks and chin inside the lower outline: they move with the jaw when speaking.
MOUTH_AREA = (
    57, 43, 106, 182, 83, 18, 313, 406, 335, 273, 287, 212, 214, 135, 169, 170, 140, 171, 175, 396, 369, 395, 394,
    364, 434, 432, 210, 430, 199, 200, 421, 418, 424, 422,
)

# Outline of the region the generator may change: from the left cheek at nose height down round the chin to
# the right cheek, then back under the nose (alae and subnasale).
MASK_OUTLINE = (
    93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 327, 2, 98,
)
