# Markdown tables to definition lists, which lowdown renders as man(7)
# tagged paragraphs (.TP): a terminal cannot show a table of long cells.
# The first cell is the term; a two-column row's second cell is the
# definition, wider rows give "header: cell" pairs.
function cells(line, out,    n, i, t) {
    gsub(/\\\|/, "\001", line)
    sub(/^[ \t]*\|/, "", line)
    sub(/\|[ \t]*$/, "", line)
    n = split(line, out, "|")
    for (i = 1; i <= n; i++) {
        t = out[i]
        gsub(/\001/, "|", t)
        gsub(/^[ \t]+|[ \t]+$/, "", t)
        out[i] = t
    }
    return n
}
function row(line,    n, i, c, d) {
    n = cells(line, c)
    print (c[1] == "" ? "—" : c[1])
    if (n == 2) {
        d = c[2]
    } else {
        d = ""
        for (i = 2; i <= n; i++)
            if (c[i] != "")
                d = d (d == "" ? "" : "; ") (head[i] == "" ? "" : head[i] ": ") c[i]
    }
    print ": " (d == "" ? "—" : d)
    print ""
}
{ line[NR] = $0 }
END {
    for (i = 1; i <= NR; i++) {
        if (line[i] ~ /^[ \t]*\|/ && i < NR && line[i + 1] ~ /^[ \t]*\|[ \t:|-]+$/) {
            delete head
            cells(line[i], head)
            for (i += 2; i <= NR && line[i] ~ /^[ \t]*\|/; i++)
                row(line[i])
            i--
            continue
        }
        print line[i]
    }
}
