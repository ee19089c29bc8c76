// Writes MSL's own LZW encoding of each input file (com.netflix.msl.io.LZWOutputStream,
// used as util/MslCompression does: one write, then close) to <output>, or with -d
// decodes <input> with LZWInputStream as MslCompression reads it.
// Usage: java -cp <msl io classes>:. MslLzwVectors [-d] <input> <output>
import com.netflix.msl.io.LZWInputStream;
import com.netflix.msl.io.LZWOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Paths;

public class MslLzwVectors {
    public static void main(final String[] args) throws Exception {
        final boolean decode = args[0].equals("-d");
        final byte[] in = Files.readAllBytes(Paths.get(args[decode ? 1 : 0]));
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (decode) {
            final LZWInputStream lzw = new LZWInputStream(new ByteArrayInputStream(in));
            final byte[] buffer = new byte[Math.max(in.length, 1)];
            for (int n; (n = lzw.read(buffer)) != -1; ) out.write(buffer, 0, n);
            lzw.close();
        } else {
            final LZWOutputStream lzw = new LZWOutputStream(out);
            lzw.write(in);
            lzw.close();
        }
        Files.write(Paths.get(args[decode ? 2 : 1]), out.toByteArray());
    }
}
