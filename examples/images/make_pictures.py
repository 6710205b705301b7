"""Draw the style-transfer example's pictures: a small landscape (content) and a swirl of coloured stripes
(style), 256x256 PNGs beside this file.

    python examples/images/make_pictures.py
"""
import os

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 256


def landscape():
    """Sky, sun, two hills, a house with a red roof and a tree."""
    y = np.linspace(0, 1, SIZE)[:, None, None]
    sky = (1 - y) * np.array([90, 150, 235]) + y * np.array([200, 225, 250])
    img = Image.fromarray(np.broadcast_to(sky, (SIZE, SIZE, 3)).astype("uint8"))
    d = ImageDraw.Draw(img)
    d.ellipse((180, 30, 230, 80), fill=(255, 215, 80))
    d.ellipse((-120, 150, 200, 420), fill=(70, 150, 60))
    d.ellipse((90, 170, 420, 420), fill=(40, 120, 50))
    d.rectangle((70, 150, 150, 215), fill=(235, 225, 200), outline=(60, 40, 30), width=2)
    d.polygon([(60, 152), (110, 110), (160, 152)], fill=(190, 40, 35))
    d.rectangle((100, 180, 120, 215), fill=(110, 70, 40))
    d.rectangle((200, 150, 212, 205), fill=(100, 65, 35))
    d.ellipse((178, 100, 234, 165), fill=(30, 100, 40))
    return img


def swirl():
    """Bands of saturated colour wound around the centre."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype("float64") / SIZE - 0.5
    r, theta = np.hypot(xx, yy), np.arctan2(yy, xx)
    phase = 10 * r * 2 * np.pi + 3 * theta + 4 * np.sin(6 * r)
    bands = np.stack([np.sin(phase), np.sin(phase + 2.1), np.sin(phase + 4.2)], axis=-1)
    colours = 0.5 + 0.5 * np.sign(bands) * np.abs(bands) ** 0.5
    return Image.fromarray((255 * colours * np.array([1.0, 0.8, 0.9])).astype("uint8"))


if __name__ == "__main__":
    landscape().save(os.path.join(HERE, "content.png"), optimize=True)
    swirl().save(os.path.join(HERE, "style.png"), optimize=True)
