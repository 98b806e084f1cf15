# Accuracy against shift-add operations (relative to 8 per MAC) for each
# scheme and stage; called by results/run-table.sh with dat, out and
# float_acc (percent) set.
set terminal svg size 800,520 dynamic font "sans,12"
set output out
set title "n-hot on Fashion-MNIST: accuracy vs operations (integer inference, 10,000 test images)"
set xlabel "shift-add operations / uniform 8-bit (8 per MAC)"
set ylabel "test accuracy (%)"
set grid
set key bottom right
set offsets 0.02, 0.05, 0.3, 0.3
plot dat index 0 using 1:2 with points pt 7 ps 1.2 title "post-training", \
     dat index 1 using 1:2 with points pt 5 ps 1.2 title "fine-tuned, one stage", \
     dat index 2 using 1:2 with points pt 9 ps 1.4 title "fine-tuned, two stages", \
     dat index 0 using 1:2:3 with labels offset 0,-1 notitle, \
     float_acc with lines dt 2 lc rgb "gray40" title "float"
