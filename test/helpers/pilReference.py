"""Chinese-CLIP's image transform, computed by the reference libraries (Pillow, NumPy).

cn_clip's transform: Image.convert("RGB"), Resize((size, size), BICUBIC) with no crop, ToTensor (/255),
Normalize(CLIP mean, std). Usage: pilReference.py SIZE IMAGE... ; writes IMAGE.ref.f32 (CHW float32).
"""
import sys

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float64)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float64)

size = int(sys.argv[1])
for path in sys.argv[2:]:
    image = Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC)
    tensor = ((np.asarray(image, dtype=np.float64) / 255.0 - MEAN) / STD).transpose(2, 0, 1)
    tensor.astype(np.float32).tofile(path + ".ref.f32")
