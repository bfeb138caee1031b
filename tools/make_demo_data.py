#!/usr/bin/env python3
"""Make petlab/demo_data/: a small, downscaled, real subset of Oxford-IIIT Pet shipped inside the package.

    .venv/bin/python tools/make_demo_data.py [--src ../shared/data/oxford-iiit-pet-sample] [--dest petlab/demo_data]

It keeps the official layout (images/, annotations/trimaps/, annotations/list.txt, trainval.txt, test.txt), both
breeds of the source in both splits, the files' order within each list, and these quirks of the real archive when
the source has them: a GIF and an RGBA PNG named .jpg (saved again in their own format), an image that no list
mentions (whose trimap has no pet pixels), and a stray .mat file (only its 128-byte MAT-file header, which nothing
reads). Photos are downscaled to at most MAX_SIDE px (JPEG, quality QUALITY), trimaps to the same size with
nearest-neighbour resampling, so that every trimap still holds only 1, 2 and 3. The output is deterministic: the same
source gives the same bytes. LICENSE.txt and README.md (the dataset's attribution and licence) are written beside it.
"""
import argparse, shutil
from pathlib import Path
from PIL import Image

MAX_SIDE, QUALITY = 160, 80
N_TRAINVAL, N_TEST = 100, 20  # per breed, the first ones in each list's order: every trainval image of the shared sample (180 train, 20 valid)
QUIRKS = ('Abyssinian_5', 'Abyssinian_34')  # RGBA PNG named .jpg (in test.txt); GIF named .jpg (in no list, empty trimap)
STRAY = 'Abyssinian_100.mat'
LIST_HEADER = """#Image CLASS-ID SPECIES BREED ID
#ID: 1:37 Class ids
#SPECIES: 1:Cat 2:Dog
#BREED ID: 1-25:Cat 1:12:Dog
#All images with 1st letter as captial are cat images
#images with small first letter are dog images
"""

def lines_of(path): return [l for l in Path(path).read_text().splitlines() if l.strip() and not l.startswith('#')]
def breed(line): return line.split()[0].rsplit('_', 1)[0]

def pick(lines, n, force=()):
    "The first `n` lines of each breed, in file order; a forced name replaces the last pick of its breed."
    out = []
    for b in dict.fromkeys(map(breed, lines)):
        mine = [l for l in lines if breed(l) == b]
        chosen = mine[:n]
        for f in force:
            hit = [l for l in mine if l.split()[0] == f]
            if hit and hit[0] not in chosen: chosen = chosen[:-1] + hit
        out += chosen
    return [l for l in lines if l in out]  # the source file's order

def small_size(w, h):
    s = MAX_SIDE / max(w, h)
    return (w, h) if s >= 1 else (max(1, round(w*s)), max(1, round(h*s)))

def copy_image(src, dest):
    with Image.open(src) as im:
        fmt, mode = im.format, im.mode
        size = small_size(*im.size)
        if fmt == 'GIF':
            im.convert('RGB').resize(size, Image.LANCZOS).convert('P', palette=Image.ADAPTIVE).save(dest, format='GIF')
        elif fmt == 'PNG':
            im.convert('RGBA' if 'A' in mode else 'RGB').resize(size, Image.LANCZOS).save(dest, format='PNG', optimize=True)
        else:
            im.convert('RGB').resize(size, Image.LANCZOS).save(dest, format='JPEG', quality=QUALITY, optimize=True)
    return size

def copy_trimap(src, dest, size):
    with Image.open(src) as t:
        assert t.mode in ('L', 'P'), f'{src}: unexpected trimap mode {t.mode}'
        t.resize(size, Image.NEAREST).save(dest, format='PNG', optimize=True)

def main(src:Path, dest:Path):
    ann = src/'annotations'
    trainval = pick(lines_of(ann/'trainval.txt'), N_TRAINVAL, QUIRKS)
    test = pick(lines_of(ann/'test.txt'), N_TEST, QUIRKS)
    names = [l.split()[0] for l in trainval + test]
    listed = {l.split()[0] for l in lines_of(ann/'list.txt')}
    unlisted = [q for q in QUIRKS if q not in names and (src/'images'/f'{q}.jpg').exists()]
    if dest.exists(): shutil.rmtree(dest)
    (dest/'images').mkdir(parents=True); (dest/'annotations'/'trimaps').mkdir(parents=True)
    for name in names + unlisted:
        size = copy_image(src/'images'/f'{name}.jpg', dest/'images'/f'{name}.jpg')
        copy_trimap(ann/'trimaps'/f'{name}.png', dest/'annotations'/'trimaps'/f'{name}.png', size)
    if (src/'images'/STRAY).exists(): (dest/'images'/STRAY).write_bytes((src/'images'/STRAY).read_bytes()[:128])
    keep = set(names)
    (dest/'annotations'/'list.txt').write_text(LIST_HEADER + ''.join(l + '\n' for l in lines_of(ann/'list.txt') if l.split()[0] in keep))
    (dest/'annotations'/'trainval.txt').write_text(''.join(l + '\n' for l in trainval))
    (dest/'annotations'/'test.txt').write_text(''.join(l + '\n' for l in test))
    for f in ('LICENSE.txt', 'README.md'): (dest/f).write_text(TEXTS[f].format(nt=len(trainval), ne=len(test), side=MAX_SIDE, q=QUALITY))
    total = sum(p.stat().st_size for p in dest.rglob('*') if p.is_file())
    print(f'{dest}: {len(trainval)} trainval + {len(test)} test images (+ {len(unlisted)} in no list), '
          f'{len(keep - listed)} listed in no list.txt, {total:,} bytes')

TEXTS = {'README.md': """# petlab demo data: a small subset of the Oxford-IIIT Pet Dataset

This folder holds {nt} trainval and {ne} test images (two breeds, Abyssinian and american_bulldog) of the
**Oxford-IIIT Pet Dataset**, with their trimaps, in the dataset's own layout (`images/`, `annotations/trimaps/`,
`annotations/list.txt`, `trainval.txt`, `test.txt`). petlab's tests and demos use it (`petlab.download.demo_data_path()`)
so that they run on real pets without downloading the dataset.

Source: O. M. Parkhi, A. Vedaldi, A. Zisserman, C. V. Jawahar, "Cats and Dogs", IEEE Conference on Computer Vision and
Pattern Recognition (CVPR), 2012. https://www.robots.ox.ac.uk/~vgg/data/pets/

The dataset is available under the Creative Commons Attribution-ShareAlike 4.0 International licence (CC BY-SA 4.0);
see `LICENSE.txt`. The copyright of the images remains with their original owners.

## Changes made (as the licence requires us to indicate)

- Only a subset of the images is included; the split files and `list.txt` list only those images.
- Photos were downscaled so that their longest side is at most {side} px and re-encoded (JPEG at quality {q};
  the one GIF and the one PNG that the archive stores under a `.jpg` name were kept in their own format, as the
  real archive's quirks they are). Trimaps were downscaled to the same size with nearest-neighbour resampling.
- `list.txt` starts with the six `#` header lines of the official file.
- `images/Abyssinian_100.mat` holds only the first 128 bytes (the MAT-file header) of the stray file of that name
  in the official archive, kept so that code that must ignore stray files has one to ignore.
- `Abyssinian_34` (a GIF named `.jpg`, with a trimap that has no pet pixels) is, as in the source, in no list.

These files were made by `tools/make_demo_data.py` in the petlab repository. They are distributed under the same
licence, CC BY-SA 4.0, not under petlab's own licence.
""",
'LICENSE.txt': """The files in this folder (images/ and annotations/) are a modified subset of the Oxford-IIIT Pet Dataset:

  O. M. Parkhi, A. Vedaldi, A. Zisserman, C. V. Jawahar, "Cats and Dogs",
  IEEE Conference on Computer Vision and Pattern Recognition (CVPR), 2012.
  https://www.robots.ox.ac.uk/~vgg/data/pets/

The dataset is available under the Creative Commons Attribution-ShareAlike 4.0 International licence
(CC BY-SA 4.0). The copyright of the images remains with their original owners.

Modifications: a subset of {nt} trainval and {ne} test images was selected; photos were downscaled to at most
{side} px on the longest side and re-encoded; trimaps were downscaled with nearest-neighbour resampling; the list
files were cut to the selected images; a stray .mat file was cut to its 128-byte header. See README.md.

These modified files are licensed under the same licence, CC BY-SA 4.0:

  Creative Commons Attribution-ShareAlike 4.0 International Public License
  Legal code:          https://creativecommons.org/licenses/by-sa/4.0/legalcode
  Human-readable deed: https://creativecommons.org/licenses/by-sa/4.0/

Summary of the deed (the summary is not a substitute for the legal code, which governs):

  You are free to:
    Share  - copy and redistribute the material in any medium or format for any purpose, even commercially.
    Adapt  - remix, transform, and build upon the material for any purpose, even commercially.
  The licensor cannot revoke these freedoms as long as you follow the licence terms.

  Under the following terms:
    Attribution  - You must give appropriate credit, provide a link to the licence, and indicate if changes
                   were made. You may do so in any reasonable manner, but not in any way that suggests the
                   licensor endorses you or your use.
    ShareAlike   - If you remix, transform, or build upon the material, you must distribute your contributions
                   under the same licence as the original.
    No additional restrictions - You may not apply legal terms or technological measures that legally
                   restrict others from doing anything the licence permits.

  Notices:
    You do not have to comply with the licence for elements of the material in the public domain or where
    your use is permitted by an applicable exception or limitation.
    No warranties are given. The licence may not give you all of the permissions necessary for your intended
    use. For example, other rights such as publicity, privacy, or moral rights may limit how you use the material.

The material is provided as-is, without warranties of any kind (see sections 5 and 6 of the legal code,
"Disclaimer of Warranties and Limitation of Liability").

The rest of petlab (its code and notebooks) is under the Apache License 2.0; that licence does not apply to the
files in this folder.
"""}

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--src', type=Path, default=Path(__file__).resolve().parents[2]/'shared'/'data'/'oxford-iiit-pet-sample')
    p.add_argument('--dest', type=Path, default=Path(__file__).resolve().parents[1]/'petlab'/'demo_data')
    a = p.parse_args()
    main(a.src, a.dest)
