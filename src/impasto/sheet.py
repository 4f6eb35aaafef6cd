"""Contact sheets: pictures in a grid of equal cells, each with its label below, a title on top.

Every cell is the size of the largest picture (smaller ones are fitted in, centred), so
`columns` cells and their gaps make the sheet's width; the rows follow, each as tall as a cell
and its longest label. The paper's figures (reproduce.py) and a batch's outputs (batch.py)
are shown this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

GAP = 8  # px between cells and around the sheet
LABEL_SIZE = 11
TITLE_SIZE = 14


def font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans, which comes with matplotlib and has every glyph the labels use (ü, α, ×)."""
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")), size)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """`text` in lines no wider than `width` where its words allow."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines or [""]


def contact_sheet(pictures: Sequence[Image.Image | None], labels: Sequence[str], columns: int,
                  title: str = "") -> Image.Image:  # fmt: skip
    """The sheet of `pictures` (None: an empty cell, labelled still) in `columns` columns."""
    shown = [p for p in pictures if p is not None]
    cell_width = max((p.width for p in shown), default=64)
    cell_height = max((p.height for p in shown), default=64)
    columns = max(1, min(columns, len(pictures)))
    width = columns * (cell_width + GAP) + GAP
    title_font, label_font = font(TITLE_SIZE), font(LABEL_SIZE)
    heading = wrap(title, title_font, width - 2 * GAP) if title else []
    lines = [wrap(label, label_font, cell_width) for label in labels]
    label_height = max((len(label) for label in lines), default=1) * (LABEL_SIZE + 3) + 4
    rows = -(-len(pictures) // columns)
    top_of_grid = GAP + (len(heading) * (TITLE_SIZE + 4) + GAP if heading else 0)
    sheet = Image.new("RGB", (width, top_of_grid + rows * (cell_height + label_height + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    if heading:
        draw.multiline_text((GAP, GAP), "\n".join(heading), fill="black", font=title_font, spacing=4)
    for index, (picture, label) in enumerate(zip(pictures, lines, strict=True)):
        row, column = divmod(index, columns)
        left = GAP + column * (cell_width + GAP)
        top = top_of_grid + row * (cell_height + label_height + GAP)
        if picture is not None:
            scale = min(cell_width / picture.width, cell_height / picture.height)
            size = (round(picture.width * scale), round(picture.height * scale))
            fitted = picture.resize(size, Image.Resampling.LANCZOS) if size != picture.size else picture
            sheet.paste(fitted, (left + (cell_width - size[0]) // 2, top + (cell_height - size[1]) // 2))
        draw.multiline_text((left, top + cell_height + 3), "\n".join(label), fill="black",
                            font=label_font, spacing=3)  # fmt: skip
    return sheet
