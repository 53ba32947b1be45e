package org.xformers4j.models.nn;

import org.xformers4j.component.attention.AttentionContext.Grid;

/**
 * Where each pixel of an image lands when it is cut into the non-overlapping square patches of the
 * Vision Transformer (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words: Transformers for
 * Image Recognition at Scale", §3.1): a {@code height × width} image of {@code channels} values per
 * pixel, stored row-major with the channels last (pixel (r, c), channel k at position
 * {@code (r · width + c) · channels + k}), becomes T = (height / patchSize) · (width / patchSize)
 * patches taken row-major, each flattened rows, then columns, then channels into
 * P = patchSize² · channels values. The patches are the cells of a {@link Grid} of
 * height / patchSize rows, which the attention mechanisms that read a grid receive.
 *
 * @param height    image height in pixels
 * @param width     image width in pixels
 * @param channels  values per pixel
 * @param patchSize side of the square patches; it divides height and width
 */
public record ImagePatchLayout(int height, int width, int channels, int patchSize) {

    /** The most values an image may have (2^26, a 4096 × 4096 × 4 image): the patch matrix is one Java array. */
    public static final long MAX_VALUES = 1L << 26;

    /**
     * @throws IllegalArgumentException if a size is not positive, the image has more than {@link #MAX_VALUES}
     *                                  values, or patchSize does not divide height and width
     */
    public ImagePatchLayout {
        if (height <= 0 || width <= 0 || channels <= 0 || patchSize <= 0) {
            throw new IllegalArgumentException("image patches: height, width, channels and patchSize must be positive, "
                    + "got " + height + ", " + width + ", " + channels + ", " + patchSize);
        }
        if ((long) height * width * channels > MAX_VALUES) {
            throw new IllegalArgumentException("image patches: height " + height + " × width " + width + " × channels "
                    + channels + " is more than the " + MAX_VALUES + " values an image may have");
        }
        if (height % patchSize != 0 || width % patchSize != 0) {
            throw new IllegalArgumentException("image patches: patchSize = " + patchSize + " must divide height = "
                    + height + " and width = " + width);
        }
    }

    /** The values of one image, height · width · channels. */
    public int values() {
        return height * width * channels;
    }

    /** The number of patches T. */
    public int patches() {
        return (height / patchSize) * (width / patchSize);
    }

    /** The values of one patch P, patchSize² · channels. */
    public int patchDim() {
        return patchSize * patchSize * channels;
    }

    /**
     * Where the value at image position {@code position} lands in the [T, P] patch matrix, flattened:
     * {@code patch · P + offset in the patch}.
     */
    public int slot(int position) {
        int k = position % channels;
        int c = (position / channels) % width;
        int r = position / channels / width;
        int patch = (r / patchSize) * (width / patchSize) + c / patchSize;
        return patch * patchDim() + ((r % patchSize) * patchSize + c % patchSize) * channels + k;
    }

    /** The patches' grid, from token {@code start}: height / patchSize rows of width / patchSize patches. */
    public Grid grid(int start) {
        return new Grid(start, height / patchSize, width / patchSize);
    }
}
