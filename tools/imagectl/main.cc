// imagectl: the command line of the image automation services (cli.h).
#include <iostream>

#include "tools/imagectl/cli.h"

int main(int argc, char** argv) {
  return ia::imagectl::Run(argc, argv, std::cout, std::cerr);
}
