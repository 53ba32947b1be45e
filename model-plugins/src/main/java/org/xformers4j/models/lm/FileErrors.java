package org.xformers4j.models.lm;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Messages for file errors that say what went wrong, not just where. */
final class FileErrors {

    private FileErrors() {
    }

    /**
     * What went wrong with a file, in words: the JDK's file-system exceptions often carry only the
     * path as their message ({@code AccessDeniedException: /m/model.x4j}), so the kind is kept.
     */
    static String describe(IOException e) {
        if (!(e instanceof FileSystemException f)) {
            return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        String kind = f instanceof AccessDeniedException ? "permission denied"
                : f instanceof NoSuchFileException ? "no such file or directory"
                : f instanceof FileAlreadyExistsException ? "a file is in the way"
                : f instanceof NotDirectoryException ? "not a directory"
                : f.getReason() != null ? f.getReason() : f.getClass().getSimpleName();
        return f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + kind;
    }
}
