package org.xformers4j.models.lm;

import java.util.Arrays;

/**
 * What a {@link Seq2SeqModel} reads: a text, or the pixels of an image. Which of the two a model
 * reads is its {@link SourceEncoder}'s choice; handing it the other is refused.
 */
public sealed interface Source {

    /** The source as text, for the hash that identifies a run's data: the text itself, or the pixel values. */
    String identity();

    /** A text, encoded by the model's tokenizer. */
    record Text(String text) implements Source {
        public Text {
            if (text == null) {
                throw new IllegalArgumentException("Source.Text: text must not be null");
            }
        }

        @Override
        public String identity() {
            return text;
        }
    }

    /**
     * An image: {@code height · width · channels} values, row-major with the channels last, as
     * {@link org.xformers4j.models.nn.ImagePatchLayout} lays them out, before any scaling.
     */
    record Pixels(float[] values) implements Source {
        /** @throws IllegalArgumentException if values is null or holds a value that is not finite */
        public Pixels {
            if (values == null) {
                throw new IllegalArgumentException("Source.Pixels: values must not be null");
            }
            for (int i = 0; i < values.length; i++) {
                if (!Float.isFinite(values[i])) {
                    throw new IllegalArgumentException("Source.Pixels: value " + i + " is " + values[i]
                            + "; pixels must be finite");
                }
            }
            values = values.clone();
        }

        /** A copy of the values. */
        @Override
        public float[] values() {
            return values.clone();
        }

        /** The value at {@code position}, without a copy. */
        float value(int position) {
            return values[position];
        }

        /** The number of values. */
        int length() {
            return values.length;
        }

        @Override
        public String identity() {
            return Arrays.toString(values);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Pixels p && Arrays.equals(values, p.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "Pixels[" + values.length + " values]";
        }
    }
}
